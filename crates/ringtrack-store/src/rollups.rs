//! Daily roll-ups of completed calls. Every write that completes a call or changes what a
//! roll-up sums (its verdict) updates them in the same transaction, so they are always
//! exact. A period is read as whole UTC days from the roll-ups plus, at each end, the part
//! of a day read from the calls themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;
use ringtrack_domain::BusinessId;
use ringtrack_domain::caller_set::{CallerSet, CallerUnion};
use ringtrack_domain::calls::{CallFilter, CallStatus};
use ringtrack_domain::dates::DateRange;

use crate::call_filter::{IN_PROGRESS, push_filter};
use crate::grouping::{Aggregates, Group, Question, read_sums};
use crate::record::Record;
use crate::sql::Sql;
use crate::{Connection, Result, Store, StoreError, Tx};

const DAY: i64 = 86_400;

/// A completed call, as its roll-up row sees it.
#[derive(Clone, Debug)]
pub struct Facts {
    business_id: String,
    day: i64,
    status: &'static str,
    qualified: bool,
    seconds: i64,
    ai_score: Option<i64>,
    caller: String,
}

impl Facts {
    pub(crate) fn new(
        business_id: BusinessId,
        created_at: Timestamp,
        (status, qualified): (CallStatus, bool),
        seconds: i64,
        ai_score: Option<i64>,
        caller: &str,
    ) -> Facts {
        Facts {
            business_id: business_id.to_string(),
            day: created_at.as_second().div_euclid(DAY),
            status: status.as_str(),
            qualified,
            seconds,
            ai_score,
            caller: caller.to_owned(),
        }
    }
}

/// Adds (`sign` 1) or removes (`sign` -1) calls from their daily roll-ups and the all-time
/// totals; added calls also join their day's caller set.
pub(crate) async fn apply(tx: &mut Tx, calls: &[Facts], sign: i64) -> Result<()> {
    let mut sums: BTreeMap<(&str, i64, &str, bool), [i64; 4]> = BTreeMap::new();
    for c in calls {
        let sum = sums.entry((&c.business_id, c.day, c.status, c.qualified)).or_default();
        sum[0] += sign;
        sum[1] += sign * c.seconds;
        sum[2] += sign * c.ai_score.unwrap_or(0);
        sum[3] += sign * i64::from(c.ai_score.is_some());
    }
    let mut totals: BTreeMap<(&str, &str, bool), [i64; 4]> = BTreeMap::new();
    for ((business, _, status, qualified), sum) in &sums {
        let total = totals.entry((business, status, *qualified)).or_default();
        total.iter_mut().zip(sum).for_each(|(t, s)| *t += s);
    }
    let daily: Vec<_> = sums.into_iter().map(|((b, day, s, q), sum)| ((b, Some(day), s, q), sum)).collect();
    add_sums(tx, "call_rollups", &daily).await?;
    let all_time: Vec<_> = totals.into_iter().map(|((b, s, q), sum)| ((b, None, s, q), sum)).collect();
    add_sums(tx, "call_totals", &all_time).await?;
    let days: BTreeSet<(&str, i64)> = calls.iter().map(|c| (c.business_id.as_str(), c.day)).collect();
    raise_versions(tx, &days.into_iter().collect::<Vec<_>>()).await?;
    if sign > 0 {
        let mut days: BTreeMap<&str, BTreeMap<i64, BTreeSet<&str>>> = BTreeMap::new();
        for c in calls {
            days.entry(&c.business_id).or_default().entry(c.day).or_default().insert(&c.caller);
        }
        for (business, days) in days {
            let callers: BTreeSet<&str> = days.values().flatten().copied().collect();
            let numbers = number_callers(tx, business, &callers).await?;
            for (day, callers) in days {
                add_to_day(tx, business, day, callers.iter().map(|c| numbers[*c])).await?;
            }
        }
    }
    Ok(())
}

/// Calls, seconds, AI score sum and scored calls of one (business, day, status, verdict).
type Sums<'a> = ((&'a str, Option<i64>, &'a str, bool), [i64; 4]);

/// Adds sums to `call_rollups` (keyed by day) or `call_totals` (no day).
async fn add_sums(tx: &mut Tx, table: &str, sums: &[Sums<'_>]) -> Result<()> {
    for chunk in sums.chunks(1000) {
        let day = if table == "call_rollups" { "day, " } else { "" };
        let mut upsert = Sql::new(format!(
            "INSERT INTO {table} (business_id, {day}status, qualified, calls, seconds, ai_sum, ai_count) VALUES "
        ));
        for (i, ((business, day, status, qualified), sum)) in chunk.iter().enumerate() {
            upsert.push(if i == 0 { "(" } else { ", (" });
            upsert.push_bind(*business);
            if let Some(day) = day {
                upsert.push(", ").push_bind(*day);
            }
            upsert.push(", ").push_bind(*status).push(", ").push_bind(*qualified);
            for value in sum {
                upsert.push(", ").push_bind(*value);
            }
            upsert.push(")");
        }
        upsert.push(&format!(
            " ON CONFLICT (business_id, {day}status, qualified) DO UPDATE SET
              calls = {table}.calls + excluded.calls, seconds = {table}.seconds + excluded.seconds,
              ai_sum = {table}.ai_sum + excluded.ai_sum, ai_count = {table}.ai_count + excluded.ai_count"
        ));
        tx.conn().execute(upsert).await?;
    }
    Ok(())
}

/// Raises the versions of days whose calls changed (`crate::facts` reloads them).
async fn raise_versions(tx: &mut Tx, days: &[(&str, i64)]) -> Result<()> {
    for chunk in days.chunks(1000) {
        let mut upsert = Sql::new("INSERT INTO call_day_versions (business_id, day, version) VALUES ");
        for (i, (business, day)) in chunk.iter().enumerate() {
            upsert.push(if i == 0 { "(" } else { ", (" });
            upsert.push_bind(*business).push(", ").push_bind(*day).push(", 1)");
        }
        upsert.push(" ON CONFLICT (business_id, day) DO UPDATE SET version = call_day_versions.version + 1");
        tx.conn().execute(upsert).await?;
    }
    Ok(())
}

/// The numbers of a business's callers, numbering those who never called before.
async fn number_callers(
    tx: &mut Tx,
    business: &str,
    callers: &BTreeSet<&str>,
) -> Result<HashMap<String, u32>> {
    let mut numbers = numbers_of(tx, business, callers.iter().copied()).await?;
    if numbers.len() == callers.len() {
        return Ok(numbers);
    }
    // New callers are numbered one transaction at a time per business: the counter's row
    // lock orders them, and a caller numbered meanwhile by another is seen once it is held.
    let ensure = Sql::new(
        "INSERT INTO business_caller_counts (business_id, callers) VALUES ($1, 0) ON CONFLICT DO NOTHING",
    )
    .bind(business);
    tx.conn().execute(ensure).await?;
    let lock = Sql::new("UPDATE business_caller_counts SET callers = callers WHERE business_id = $1 RETURNING callers AS value")
        .bind(business);
    let mut count: i64 = tx.conn().fetch_one(lock).await?;
    let missing: Vec<&str> = callers.iter().copied().filter(|c| !numbers.contains_key(*c)).collect();
    numbers.extend(numbers_of(tx, business, missing.iter().copied()).await?);
    let new: Vec<&str> = missing.into_iter().filter(|c| !numbers.contains_key(*c)).collect();
    for chunk in new.chunks(5000) {
        let mut insert = Sql::new("INSERT INTO business_callers (business_id, caller_number, seq) VALUES ");
        for (i, caller) in chunk.iter().enumerate() {
            count += 1;
            let number =
                u32::try_from(count).map_err(|_| StoreError::Corrupt("caller numbers overflow".into()))?;
            numbers.insert((*caller).to_owned(), number);
            insert.push(if i == 0 { "(" } else { ", (" });
            insert.push_bind(business).push(", ").push_bind(*caller).push(", ").push_bind(count).push(")");
        }
        tx.conn().execute(insert).await?;
    }
    let counted = Sql::new("UPDATE business_caller_counts SET callers = $2 WHERE business_id = $1")
        .bind(business)
        .bind(count);
    tx.conn().execute(counted).await?;
    Ok(numbers)
}

async fn numbers_of<'a>(
    tx: &mut Tx,
    business: &str,
    callers: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, u32>> {
    let callers: Vec<&str> = callers.collect();
    let mut numbers = HashMap::with_capacity(callers.len());
    for chunk in callers.chunks(500) {
        let mut select = Sql::new(
            "SELECT caller_number, seq FROM business_callers WHERE business_id = $1 AND caller_number IN (",
        )
        .bind(business);
        for (i, caller) in chunk.iter().enumerate() {
            select.push(if i == 0 { "" } else { ", " }).push_bind(*caller);
        }
        select.push(")");
        let rows = tx.conn().fetch_all_with(select, read_numbered).await?;
        numbers.extend(rows);
    }
    Ok(numbers)
}

fn read_numbered(row: &dyn Record) -> sqlx::Result<(String, u32)> {
    Ok((row.text("caller_number")?, caller_number(row.int("seq")?)?))
}

fn read_set(row: &dyn Record) -> sqlx::Result<Vec<u8>> {
    row.bytes("callers")
}

fn read_day_member(row: &dyn Record) -> sqlx::Result<(i64, u32)> {
    Ok((row.int("day")?, caller_number(row.int("seq")?)?))
}

fn read_business(row: &dyn Record) -> sqlx::Result<String> {
    row.text("business_id")
}

fn caller_number(seq: i64) -> sqlx::Result<u32> {
    u32::try_from(seq).map_err(|e| sqlx::Error::ColumnDecode { index: "seq".into(), source: Box::new(e) })
}

/// Adds callers (by number) to a day's set.
async fn add_to_day(tx: &mut Tx, business: &str, day: i64, callers: impl Iterator<Item = u32>) -> Result<()> {
    let ensure = Sql::new(
        "INSERT INTO caller_day_sets (business_id, day, callers) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(business)
    .bind(day)
    .bind(Vec::new());
    tx.conn().execute(ensure).await?;
    let read = Sql::new(format!(
        "SELECT callers FROM caller_day_sets WHERE business_id = $1 AND day = $2{}",
        tx.row_lock()
    ))
    .bind(business)
    .bind(day);
    let stored = tx.conn().fetch_all_with(read, read_set).await?;
    let mut set = decode(stored.first().map_or(&[][..], Vec::as_slice))?;
    let mut changed = false;
    for caller in callers {
        changed |= set.insert(caller);
    }
    if changed {
        let write = Sql::new("UPDATE caller_day_sets SET callers = $3 WHERE business_id = $1 AND day = $2")
            .bind(business)
            .bind(day)
            .bind(set.encode());
        tx.conn().execute(write).await?;
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<CallerSet> {
    CallerSet::decode(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Migration 6: builds the caller sets from the rows of `caller_days`, then drops them.
pub(crate) fn backfill_caller_sets(tx: &mut Tx) -> Pin<Box<dyn Future<Output = Result<()>> + '_>> {
    Box::pin(fill_caller_sets(tx))
}

async fn fill_caller_sets(tx: &mut Tx) -> Result<()> {
    {
        let businesses = Sql::new("SELECT DISTINCT business_id FROM caller_days");
        let businesses = tx.conn().fetch_all_with(businesses, read_business).await?;
        for business in businesses {
            let rows = Sql::new(
                "SELECT d.day, c.seq FROM caller_days d
                 JOIN business_callers c ON c.business_id = d.business_id AND c.caller_number = d.caller_number
                 WHERE d.business_id = $1",
            )
            .bind(business.as_str());
            let rows = tx.conn().fetch_all_with(rows, read_day_member).await?;
            let mut sets: BTreeMap<i64, CallerSet> = BTreeMap::new();
            for (day, caller) in rows {
                sets.entry(day).or_default().insert(caller);
            }
            let sets: Vec<(i64, CallerSet)> = sets.into_iter().collect();
            for chunk in sets.chunks(500) {
                let mut insert = Sql::new("INSERT INTO caller_day_sets (business_id, day, callers) VALUES ");
                for (i, (day, set)) in chunk.iter().enumerate() {
                    insert.push(if i == 0 { "(" } else { ", (" });
                    insert
                        .push_bind(business.as_str())
                        .push(", ")
                        .push_bind(*day)
                        .push(", ")
                        .push_bind(set.encode());
                    insert.push(")");
                }
                tx.conn().execute(insert).await?;
            }
        }
        tx.conn().execute_script("DROP TABLE caller_days").await?;
        Ok(())
    }
}

/// A period cut into whole UTC days (read from the roll-ups) and the parts of days at its
/// ends (read from the calls).
#[derive(Debug)]
struct Split {
    /// `[first, end)` in days, open where `None`; `None` when the period holds no whole day.
    days: Option<(Option<i64>, Option<i64>)>,
    /// The partial days, as periods of their own.
    edges: Vec<DateRange>,
}

fn split(range: &DateRange) -> Split {
    let from = range.from.map(Timestamp::as_second);
    let to = range.to.map(Timestamp::as_second);
    let first_day = from.map(|s| s.div_euclid(DAY) + i64::from(s.rem_euclid(DAY) != 0));
    let end_day = to.map(|s| s.div_euclid(DAY));
    if let (Some(a), Some(b)) = (first_day, end_day)
        && a >= b
    {
        // Less than a whole day: all of it from the calls.
        return Split { days: None, edges: vec![*range] };
    }
    let time = |s: i64| Timestamp::from_second(s).ok();
    let mut edges = Vec::new();
    if let (Some(s), Some(day)) = (from, first_day)
        && s < day * DAY
    {
        edges.push(DateRange { from: time(s), to: time(day * DAY) });
    }
    if let (Some(s), Some(day)) = (to, end_day)
        && s > day * DAY
    {
        edges.push(DateRange { from: time(day * DAY), to: time(s) });
    }
    Split { days: Some((first_day, end_day)), edges }
}

impl Split {
    /// The whole days as a period of time.
    fn whole(&self) -> Option<DateRange> {
        let time = |d: Option<i64>| d.and_then(|d| Timestamp::from_second(d * DAY).ok());
        self.days.map(|(first, end)| DateRange { from: time(first), to: time(end) })
    }
}

/// Whether the roll-ups can answer for this filter (they know status and verdict, by day).
/// Every field is named, so a new filter cannot be ignored here unnoticed.
fn rolled_up(filter: &CallFilter) -> bool {
    let CallFilter {
        range: _,
        status,
        qualified: _,
        number_id,
        call_flow_id,
        updated_since,
        min_duration,
        max_duration,
        utm_source,
        utm_campaign,
        source,
        utm_medium,
        first_time,
        landing_page,
        caller_digits,
    } = filter;
    number_id.is_none()
        && call_flow_id.is_none()
        && utm_source.is_none()
        && utm_campaign.is_none()
        && source.is_none()
        && utm_medium.is_none()
        && first_time.is_none()
        && landing_page.is_none()
        && updated_since.is_none()
        && min_duration.is_none()
        && max_duration.is_none()
        && caller_digits.is_none()
        && *status != Some(CallStatus::InProgress)
}

/// `FROM … WHERE …` over the sums of whole days: the all-time totals when the days are
/// unbounded, else the daily roll-ups.
fn rollup_from_where(
    sql: &mut Sql,
    business_id: BusinessId,
    filter: &CallFilter,
    days: (Option<i64>, Option<i64>),
) {
    let table = if days == (None, None) { "call_totals" } else { "call_rollups" };
    sql.push(&format!("FROM {table} WHERE business_id = ")).push_bind(business_id);
    sql.push_days(days);
    if let Some(status) = filter.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(qualified) = filter.qualified {
        sql.push(" AND qualified = ").push_bind(qualified);
    }
}

/// The statement counting the calls (in progress included) that match the filter, when
/// the roll-ups can say: it sums the roll-ups (or the all-time totals), the calls in
/// progress and the calls of the partial days at the ends.
pub(crate) fn count(business_id: BusinessId, filter: &CallFilter) -> Option<Sql> {
    if !rolled_up(filter) {
        return None;
    }
    let split = split(&filter.range);
    let mut total = Sql::new("SELECT CAST(0");
    if let (Some(days), Some(whole)) = (split.days, split.whole()) {
        total.push(" + (SELECT COALESCE(SUM(calls), 0) ");
        rollup_from_where(&mut total, business_id, filter, days);
        total.push(")");
        if filter.status.is_none() {
            // Calls in progress are not rolled up: over the whole days, count them directly.
            total.push(&format!(
                " + (SELECT count(*) FROM calls WHERE status = '{IN_PROGRESS}' AND business_id = "
            ));
            total.push_bind(business_id);
            push_filter(&mut total, &CallFilter { range: whole, ..filter.clone() });
            total.push(")");
        }
    }
    for edge in &split.edges {
        total.push(" + (SELECT count(*) FROM calls WHERE business_id = ").push_bind(business_id);
        push_filter(&mut total, &CallFilter { range: *edge, ..filter.clone() });
        total.push(")");
    }
    total.push(" AS BIGINT) AS value");
    Some(total)
}

/// The totals of completed calls over a period, with distinct callers: the dashboard.
/// Kept by the node until a day of the period changes (a dashboard is opened often).
pub async fn totals(store: &Store, business_id: BusinessId, range: &DateRange) -> Result<Aggregates> {
    let question = format!("totals {business_id} {range:?}");
    let compute = async {
        let aggregates = summed(store, business_id, range).await?;
        Ok(vec![Group { keys: Vec::new(), aggregates }])
    };
    let answer = store.facts().remember(store, business_id, range, question, compute).await?;
    Ok(answer.first().map(|g| g.aggregates.clone()).unwrap_or_default())
}

/// [`totals`], from the roll-ups, the partial days' calls and the days' caller sets.
async fn summed(mut db: impl Connection, business_id: BusinessId, range: &DateRange) -> Result<Aggregates> {
    let split = split(range);
    let mut total = Aggregates::default();
    if let Some(days) = split.days {
        let mut rolled = Sql::new(
            "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) AS n,
                CAST(COALESCE(SUM(CASE WHEN status = 'answered' THEN calls ELSE 0 END), 0) AS BIGINT) AS answered,
                CAST(COALESCE(SUM(CASE WHEN status = 'missed' THEN calls ELSE 0 END), 0) AS BIGINT) AS missed,
                CAST(COALESCE(SUM(CASE WHEN status = 'voicemail' THEN calls ELSE 0 END), 0) AS BIGINT) AS voicemail,
                CAST(COALESCE(SUM(CASE WHEN qualified THEN calls ELSE 0 END), 0) AS BIGINT) AS qualified,
                CAST(COALESCE(SUM(seconds), 0) AS BIGINT) AS seconds,
                CAST(COALESCE(SUM(ai_sum), 0) AS BIGINT) AS ai_sum,
                CAST(COALESCE(SUM(ai_count), 0) AS BIGINT) AS ai_count ",
        );
        rollup_from_where(&mut rolled, business_id, &CallFilter::default(), days);
        total = db.conn().fetch_all_with(rolled, read_sums).await?.into_iter().next().unwrap_or_default();
    }
    for edge in &split.edges {
        let filter = CallFilter { range: *edge, ..CallFilter::default() };
        let part = crate::analytics::scan(
            &mut db,
            &Question {
                business_id,
                filter: &filter,
                dimensions: &[],
                tz: &jiff::tz::TimeZone::UTC,
                unique_callers: false,
            },
        )
        .await?;
        if let Some(part) = part.into_iter().next() {
            total.add(&part.group.aggregates);
        }
    }
    total.unique_callers = Some(unique_callers(&mut db, business_id, range, &split).await?);
    Ok(total)
}

/// Distinct callers over a period: the union of its days' caller sets and the callers of
/// its partial days, or the business's count of callers when the period is unbounded.
async fn unique_callers(
    db: &mut impl Connection,
    business_id: BusinessId,
    range: &DateRange,
    split: &Split,
) -> Result<i64> {
    if range.from.is_none() && range.to.is_none() {
        let all = Sql::new(
            "SELECT COALESCE((SELECT callers FROM business_caller_counts WHERE business_id = $1), 0) AS value",
        )
        .bind(business_id);
        return Ok(db.conn().fetch_one(all).await?);
    }
    let mut union = CallerUnion::default();
    if let Some((first, end)) = split.days {
        let mut sets =
            Sql::new("SELECT callers FROM caller_day_sets WHERE business_id = $1").bind(business_id);
        sets.push_days((first, end));
        for set in db.conn().fetch_all_with(sets, read_set).await? {
            union.add_set(&decode(&set)?);
        }
    }
    for edge in &split.edges {
        let mut callers = Sql::new(format!(
            "SELECT seq AS value FROM business_callers WHERE business_id = $1 AND caller_number IN
             (SELECT caller_number FROM calls WHERE business_id = $2 AND status <> '{IN_PROGRESS}'"
        ))
        .bind(business_id)
        .bind(business_id);
        push_filter(&mut callers, &CallFilter { range: *edge, ..CallFilter::default() });
        callers.push(")");
        for seq in db.conn().fetch_all::<i64>(callers).await? {
            union.add(caller_number(seq)?);
        }
    }
    Ok(i64::try_from(union.count()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: Option<&str>, to: Option<&str>) -> DateRange {
        DateRange { from: from.map(|s| s.parse().unwrap()), to: to.map(|s| s.parse().unwrap()) }
    }

    #[test]
    fn periods_split_into_whole_days_and_edges() {
        let whole = split(&range(Some("2026-03-01T00:00:00Z"), Some("2026-04-01T00:00:00Z")));
        assert_eq!(whole.days, Some((Some(20513), Some(20544))));
        assert!(whole.edges.is_empty());
        let ragged = split(&range(Some("2026-03-01T12:00:00Z"), Some("2026-03-03T06:00:00Z")));
        assert_eq!(ragged.days, Some((Some(20514), Some(20515))));
        assert_eq!(ragged.edges.len(), 2);
        assert_eq!(ragged.edges[0].to, Some("2026-03-02T00:00:00Z".parse().unwrap()));
        let within = split(&range(Some("2026-03-01T12:00:00Z"), Some("2026-03-01T13:00:00Z")));
        assert_eq!(within.days, None);
        assert_eq!(within.edges, vec![range(Some("2026-03-01T12:00:00Z"), Some("2026-03-01T13:00:00Z"))]);
        let open = split(&DateRange::default());
        assert_eq!(open.days, Some((None, None)));
        assert!(open.edges.is_empty());
    }
}
