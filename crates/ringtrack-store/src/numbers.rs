//! Tracking numbers. A number belongs to one business; released numbers stay (with their
//! calls) and rest 30 days before any business may buy them again.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use ringtrack_domain::numbers::{RELEASE_AGING_DAYS, renewal_due};
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{
    BusinessId, CallFlowId, Cents, NumberGroupId, NumberId, NumberStatus, NumberType, PhoneNumber,
};

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

/// A number as the API shows it: its own columns and what they refer to, by join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number {
    pub id: NumberId,
    pub business_id: BusinessId,
    pub phone_number: PhoneNumber,
    pub friendly_name: String,
    pub number_type: NumberType,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub call_flow_id: Option<CallFlowId>,
    pub call_flow_name: Option<String>,
    pub group_id: Option<NumberGroupId>,
    pub group_name: Option<String>,
    pub pool_id: Option<String>,
    pub source: Option<String>,
    pub sms_enabled: bool,
    pub monthly_cost: Cents,
    pub total_calls: i64,
    pub status: NumberStatus,
    pub carrier_sid: String,
    pub renews_at: Timestamp,
    pub created_at: Timestamp,
    pub released_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT n.id, n.business_id, n.phone_number, n.friendly_name, n.number_type, n.locality,
        n.region, n.call_flow_id, f.name AS call_flow_name, n.group_id, g.name AS group_name, n.pool_id,
        n.source, n.sms_enabled, n.monthly_cost_cents, n.status, n.carrier_sid, n.renews_at, n.created_at,
        n.released_at, (SELECT count(*) FROM calls c WHERE c.number_id = n.id) AS total_calls";
const FROM: &str = "FROM numbers n
    LEFT JOIN call_flows f ON f.id = n.call_flow_id
    LEFT JOIN number_groups g ON g.id = n.group_id";

impl FromRecord for Number {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Number {
            id: row.parsed("id")?,
            business_id: row.parsed("business_id")?,
            phone_number: row.parsed("phone_number")?,
            friendly_name: row.text("friendly_name")?,
            number_type: row.parsed("number_type")?,
            locality: row.opt_text("locality")?,
            region: row.opt_text("region")?,
            call_flow_id: row.opt_parsed("call_flow_id")?,
            call_flow_name: row.opt_text("call_flow_name")?,
            group_id: row.opt_parsed("group_id")?,
            group_name: row.opt_text("group_name")?,
            pool_id: row.opt_text("pool_id")?,
            source: row.opt_text("source")?,
            sms_enabled: row.boolean("sms_enabled")?,
            monthly_cost: Cents::new(row.int("monthly_cost_cents")?),
            total_calls: row.int("total_calls")?,
            status: row.parsed("status")?,
            carrier_sid: row.text("carrier_sid")?,
            renews_at: row.time("renews_at")?,
            created_at: row.time("created_at")?,
            released_at: row.opt_time("released_at")?,
        })
    }
}

impl Keyed for Number {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// A number just bought at the carrier, to be recorded.
#[derive(Clone, Debug)]
pub struct NewNumber {
    pub business_id: BusinessId,
    pub phone_number: PhoneNumber,
    pub friendly_name: String,
    pub number_type: NumberType,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub call_flow_id: Option<CallFlowId>,
    pub group_id: Option<NumberGroupId>,
    pub source: Option<String>,
    pub monthly_cost: Cents,
    pub carrier_sid: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum InsertError {
    /// Another business owns the number (a race with the carrier's sale).
    AlreadyOwned,
}

/// Records a bought number with its first month paid (the caller charges it).
pub async fn insert(tx: &mut Tx, new: NewNumber) -> Result<Result<Number, InsertError>> {
    let id = NumberId::new();
    let now = tx.now();
    let owned = Sql::new("SELECT 1 AS value FROM numbers WHERE phone_number = $1 AND status <> 'released'")
        .bind(new.phone_number.as_str());
    if tx.conn().fetch_optional::<i64>(owned).await?.is_some() {
        return Ok(Err(InsertError::AlreadyOwned));
    }
    let insert = Sql::new(
        "INSERT INTO numbers (id, business_id, phone_number, friendly_name, number_type, locality, region,
            call_flow_id, group_id, source, sms_enabled, monthly_cost_cents, status, carrier_sid, months_paid,
            renews_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, 1, $14, $15, $15)",
    )
    .bind(id)
    .bind(new.business_id)
    .bind(new.phone_number.as_str())
    .bind(new.friendly_name)
    .bind(new.number_type.as_str())
    .bind(new.locality)
    .bind(new.region)
    .bind(new.call_flow_id)
    .bind(new.group_id)
    .bind(new.source)
    .bind(true)
    .bind(new.monthly_cost.get())
    .bind(new.carrier_sid)
    .bind(renewal_due(now, 1))
    .bind(now);
    match tx.conn().execute(insert).await {
        Ok(_) => {}
        // Another business's purchase of the same number committed first.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Ok(Err(InsertError::AlreadyOwned));
        }
        Err(e) => return Err(e.into()),
    }
    let number = get(&mut *tx, new.business_id, id).await?.expect("the number was just inserted");
    Ok(Ok(number))
}

pub async fn get(mut db: impl Connection, business_id: BusinessId, id: NumberId) -> Result<Option<Number>> {
    let select = Sql::new(format!("{SELECT} {FROM} WHERE n.business_id = $1 AND n.id = $2"))
        .bind(business_id)
        .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

/// The number a call to `phone` reaches: owned and not released.
pub async fn in_service(mut db: impl Connection, phone: &PhoneNumber) -> Result<Option<Number>> {
    let select = Sql::new(format!("{SELECT} {FROM} WHERE n.phone_number = $1 AND n.status <> 'released'"))
        .bind(phone.as_str());
    Ok(db.conn().fetch_optional(select).await?)
}

/// The business's numbers that are not released, as of now.
pub async fn count_active(mut db: impl Connection, business_id: BusinessId) -> Result<i64> {
    let count =
        Sql::new("SELECT count(*) AS value FROM numbers WHERE business_id = $1 AND status <> 'released'")
            .bind(business_id);
    Ok(db.conn().fetch_one(count).await?)
}

/// Which numbers a list shows; all conditions hold together.
#[derive(Clone, Debug, Default)]
pub struct NumberFilter {
    /// `None`: every number that is not released.
    pub status: Option<NumberStatus>,
    pub group_id: Option<NumberGroupId>,
    pub call_flow_id: Option<CallFlowId>,
    /// Digits of the number, or words of its friendly name.
    pub search: Option<String>,
}

/// A number as a menu offers it: no more than what names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberChoice {
    pub id: NumberId,
    pub phone_number: PhoneNumber,
    pub friendly_name: String,
}

impl FromRecord for NumberChoice {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(NumberChoice {
            id: row.parsed("id")?,
            phone_number: row.parsed("phone_number")?,
            friendly_name: row.text("friendly_name")?,
        })
    }
}

/// The business's numbers in service, by name, for a menu (at most `limit`): none of the
/// list's joins and per-number call counts, which a page that only names them must not pay.
pub async fn choices(
    mut db: impl Connection,
    business_id: BusinessId,
    limit: u32,
) -> Result<Vec<NumberChoice>> {
    let select = Sql::new(format!(
        "SELECT id, phone_number, friendly_name FROM numbers WHERE business_id = $1 AND status <> 'released'
         ORDER BY friendly_name, phone_number LIMIT {limit}"
    ))
    .bind(business_id);
    Ok(db.conn().fetch_all(select).await?)
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    filter: &NumberFilter,
    page: &PageRequest,
) -> Result<Page<Number>> {
    let mut from = Sql::new(format!("{FROM} WHERE n.business_id = $1")).bind(business_id);
    match filter.status {
        Some(status) => from.push(" AND n.status = ").push_bind(status.as_str()),
        None => from.push(" AND n.status <> 'released'"),
    };
    if let Some(group) = filter.group_id {
        from.push(" AND n.group_id = ").push_bind(group);
    }
    if let Some(flow) = filter.call_flow_id {
        from.push(" AND n.call_flow_id = ").push_bind(flow);
    }
    if let Some(search) = &filter.search {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        from.push(" AND (lower(n.friendly_name) LIKE ").push_bind(pattern).push(" ESCAPE '\\'");
        if !digits.is_empty() {
            from.push(" OR n.phone_number LIKE ").push_bind(format!("%{digits}%"));
        }
        from.push(")");
    }
    fetch_page(db, SELECT.trim_start_matches("SELECT "), from, "n.", page).await
}

/// `%`, `_` and `\` in a user's search match themselves.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A change to a number; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct NumberChanges {
    pub friendly_name: Option<String>,
    pub call_flow_id: Option<Option<CallFlowId>>,
    pub group_id: Option<Option<NumberGroupId>>,
    pub source: Option<Option<String>>,
}

pub async fn update(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberId,
    changes: NumberChanges,
) -> Result<()> {
    let mut update = Sql::new("UPDATE numbers SET updated_at = ");
    update.push_bind(tx.now());
    if let Some(name) = changes.friendly_name {
        update.push(", friendly_name = ").push_bind(name);
    }
    if let Some(flow) = changes.call_flow_id {
        update.push(", call_flow_id = ").push_bind(flow);
    }
    if let Some(group) = changes.group_id {
        update.push(", group_id = ").push_bind(group);
    }
    if let Some(source) = changes.source {
        update.push(", source = ").push_bind(source);
    }
    update.push(" WHERE business_id = ").push_bind(business_id);
    update.push(" AND id = ").push_bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Marks a number released now; it keeps its calls and history.
pub async fn mark_released(tx: &mut Tx, business_id: BusinessId, id: NumberId) -> Result<()> {
    let now = tx.now();
    let update = Sql::new(
        "UPDATE numbers SET status = 'released', released_at = $1, updated_at = $1
         WHERE business_id = $2 AND id = $3 AND status <> 'released'",
    )
    .bind(now)
    .bind(business_id)
    .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Which of `candidates` no business may buy now: owned, or released less than 30 days ago.
pub async fn unavailable(
    mut db: impl Connection,
    candidates: &[PhoneNumber],
    now: Timestamp,
) -> Result<HashSet<PhoneNumber>> {
    let mut taken = HashSet::new();
    let resting_since = now - SignedDuration::from_hours(24 * RELEASE_AGING_DAYS);
    // In chunks, to stay far below either database's limit on arguments.
    for chunk in candidates.chunks(500) {
        let mut select =
            Sql::new("SELECT phone_number FROM numbers WHERE (status <> 'released' OR released_at > ");
        select.push_bind(resting_since).push(") AND phone_number IN (");
        for (i, number) in chunk.iter().enumerate() {
            if i > 0 {
                select.push(", ");
            }
            select.push_bind(number.as_str());
        }
        select.push(")");
        let rows: Vec<PhoneNumberRow> = db.conn().fetch_all(select).await?;
        taken.extend(rows.into_iter().map(|row| row.0));
    }
    Ok(taken)
}

struct PhoneNumberRow(PhoneNumber);

impl FromRecord for PhoneNumberRow {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.parsed("phone_number").map(PhoneNumberRow)
    }
}

/// The numbers whose renewal is due at `now`, oldest due first.
pub async fn due_for_renewal(
    mut db: impl Connection,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<(BusinessId, NumberId)>> {
    let select = Sql::new(
        "SELECT business_id, id FROM numbers WHERE status <> 'released' AND renews_at <= $1
         ORDER BY renews_at LIMIT $2",
    )
    .bind(now)
    .bind(limit);
    let rows: Vec<DueRow> = db.conn().fetch_all(select).await?;
    Ok(rows.into_iter().map(|r| (r.0, r.1)).collect())
}

struct DueRow(BusinessId, NumberId);

impl FromRecord for DueRow {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(DueRow(row.parsed("business_id")?, row.parsed("id")?))
    }
}

/// The months paid of a number due for renewal at `now`; `None` when it is not due (or
/// released).
pub async fn months_paid_if_due(tx: &mut Tx, id: NumberId, now: Timestamp) -> Result<Option<i64>> {
    let select = Sql::new(
        "SELECT n.months_paid AS value FROM numbers n
         WHERE n.id = $1 AND n.status <> 'released' AND n.renews_at <= $2",
    )
    .bind(id)
    .bind(now);
    Ok(tx.conn().fetch_optional::<i64>(select).await?)
}

/// Suspends a number whose month is unpaid; it still answers calls.
pub async fn suspend(tx: &mut Tx, id: NumberId, now: Timestamp) -> Result<()> {
    let suspend =
        Sql::new("UPDATE numbers SET status = 'suspended', updated_at = $1 WHERE id = $2").bind(now).bind(id);
    tx.conn().execute(suspend).await?;
    Ok(())
}

/// Counts one more month paid (active until the next anniversary), on the condition that
/// `months_paid` were paid before: false when another node renewed it first.
pub async fn mark_renewed(tx: &mut Tx, number: &Number, months_paid: i64, now: Timestamp) -> Result<bool> {
    let paid = months_paid + 1;
    let months = u32::try_from(paid).unwrap_or(u32::MAX);
    let update = Sql::new(
        "UPDATE numbers SET status = 'active', months_paid = $1, renews_at = $2, updated_at = $3
         WHERE id = $4 AND months_paid = $5",
    )
    .bind(paid)
    .bind(renewal_due(number.created_at, months))
    .bind(now)
    .bind(number.id)
    .bind(months_paid);
    Ok(tx.conn().execute(update).await? == 1)
}
