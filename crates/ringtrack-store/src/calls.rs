//! Calls: created when the carrier announces one, moved on by its callbacks, completed by
//! its final status. Each callback the carrier may repeat is remembered in `call_events`
//! with the answer given, so a repeat changes nothing and answers the same.

use jiff::Timestamp;
use ringtrack_domain::calls::{CallFilter, CallStatus, Direction};
use ringtrack_domain::dni::page_address;
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, CallFlowId, CallId, Cents, NumberId, PhoneNumber};

use crate::call_filter::{IN_PROGRESS, push_filter};
use crate::paging::{Keyed, Page, fetch_page_counted};
use crate::record::{FromRecord, Record, model};
use crate::rollups::{self, Facts};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

model! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Call, columns COLUMNS {
        pub id: CallId = parsed,
        pub business_id: BusinessId = parsed,
        pub call_sid: Option<String> = opt_text,
        pub number_id: Option<NumberId> = opt_parsed,
        pub caller_number: String = text,
        /// The caller withheld their number: `caller_number` is what the carrier wrote.
        pub caller_withheld: bool = boolean,
        pub tracking_number: Option<String> = opt_text,
        pub destination_number: Option<String> = opt_text,
        pub call_flow_id: Option<CallFlowId> = opt_parsed,
        pub call_flow_version: Option<i64> = opt_int,
        pub call_flow_name: Option<String> = opt_text,
        pub direction: Direction = parsed,
        pub status: CallStatus = parsed,
        pub duration_seconds: i64 = int,
        /// The effective verdict: the person's when given, else the automatic one.
        pub qualified: bool = boolean,
        pub qualified_by_person: Option<bool> = opt_boolean,
        pub ai_score: Option<i64> = opt_int,
        pub ai_category: Option<String> = opt_text,
        pub ai_reasons: Vec<String> = json,
        pub has_transcription: bool = boolean,
        /// The recording is stored (not merely announced by the carrier).
        pub has_recording: bool = boolean,
        pub notes: Option<String> = opt_text,
        pub tags: Vec<String> = json,
        pub caller_city: Option<String> = opt_text,
        pub caller_state: Option<String> = opt_text,
        pub caller_zip: Option<String> = opt_text,
        pub first_time_caller: bool = boolean,
        /// The number's own source (set on the number), which outranks the visit's.
        pub source: Option<String> = opt_text,
        pub utm_source: Option<String> = opt_text,
        pub utm_medium: Option<String> = opt_text,
        pub utm_campaign: Option<String> = opt_text,
        pub gclid: Option<String> = opt_text,
        pub landing_page: Option<String> = opt_text,
        pub referrer: Option<String> = opt_text,
        pub session_id: Option<String> = opt_text,
        pub recording_url: Option<String> = opt_text,
        pub voicemail_url: Option<String> = opt_text,
        pub cost: Cents = cents("cost_cents"),
        pub answered_at: Option<Timestamp> = opt_time,
        pub ended_at: Option<Timestamp> = opt_time,
        pub created_at: Timestamp = time,
        pub updated_at: Timestamp = time,
        /// The flow engine's state, as JSON.
        pub engine_state: Option<String> = opt_text,
    }
}

impl Call {
    /// The source as analytics groups it (and the `source` filter matches): the number's
    /// own, else the visit's utm_source, else `direct`.
    pub fn attributed_source(&self) -> &str {
        ringtrack_domain::calls::attributed_source(self.source.as_deref(), self.utm_source.as_deref())
    }
}

impl Keyed for Call {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// A call the carrier just announced.
#[derive(Clone, Debug, Default)]
pub struct NewCall {
    pub business_id: BusinessId,
    pub call_sid: String,
    pub number_id: Option<NumberId>,
    pub caller_number: String,
    pub caller_withheld: bool,
    pub tracking_number: String,
    pub call_flow_id: Option<CallFlowId>,
    pub call_flow_version: Option<i64>,
    pub call_flow_name: Option<String>,
    pub caller_city: Option<String>,
    pub caller_state: Option<String>,
    pub caller_zip: Option<String>,
    pub utm_source: Option<String>,
    pub source: Option<String>,
    /// The website visit the call came from (dynamic number insertion), when known.
    pub visit: Option<VisitAttribution>,
}

/// What a call takes from the visit that showed its number.
#[derive(Clone, Debug, Default)]
pub struct VisitAttribution {
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub gclid: Option<String>,
    pub landing_page: Option<String>,
    pub referrer: Option<String>,
    pub session_id: Option<String>,
}

pub async fn by_sid(mut db: impl Connection, call_sid: &str) -> Result<Option<Call>> {
    let select =
        Sql::new(format!("SELECT {COLUMNS} FROM calls WHERE call_sid = $1")).bind(call_sid).on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn by_id(mut db: impl Connection, id: CallId) -> Result<Option<Call>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM calls WHERE id = $1")).bind(id).on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn get(mut db: impl Connection, business_id: BusinessId, id: CallId) -> Result<Option<Call>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM calls WHERE business_id = $1 AND id = $2"))
        .bind(business_id)
        .bind(id)
        .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

fn filtered(business_id: BusinessId, filter: &CallFilter) -> Sql {
    let mut from = Sql::new("FROM calls WHERE business_id = $1").bind(business_id);
    push_filter(&mut from, filter);
    from
}

pub async fn list(
    db: impl Connection,
    business_id: BusinessId,
    filter: &CallFilter,
    page: &PageRequest,
) -> Result<Page<Call>> {
    // The roll-ups count most filters without reading a million rows.
    let count = rollups::count(business_id, filter);
    fetch_page_counted(db, COLUMNS, filtered(business_id, filter), "", page, count).await
}

/// Every call matching the filter, newest first, in chunks read as the receiver takes
/// them: an export reads the whole set this way in constant memory.
pub fn export(
    store: &crate::Store,
    business_id: BusinessId,
    filter: &CallFilter,
) -> tokio::sync::mpsc::Receiver<sqlx::Result<Vec<Call>>> {
    let mut select = filtered(business_id, filter);
    select.text.insert_str(0, &format!("SELECT {COLUMNS} "));
    select.push(" ORDER BY created_at DESC, id DESC");
    store.stream(select, EXPORT_CHUNK)
}

/// Calls sent to an export at a time.
const EXPORT_CHUNK: usize = 1000;

/// A person's changes to a call; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CallChanges {
    /// The person's verdict; `Some(None)` withdraws it, leaving the automatic one.
    pub qualified: Option<Option<bool>>,
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

/// Writes a person's changes to a call; `None` when the business has no such call.
pub async fn update(
    tx: &mut Tx,
    business_id: BusinessId,
    id: CallId,
    changes: CallChanges,
) -> Result<Option<Call>> {
    let mut update = Sql::new("UPDATE calls SET updated_at = ");
    update.push_bind(tx.now());
    if let Some(verdict) = changes.qualified {
        update.push(", qualified_by_person = ").push_bind(verdict);
        update.push(", qualified = COALESCE(").push_bind(verdict).push(", qualified_auto)");
    }
    if let Some(notes) = changes.notes {
        update.push(", notes = ").push_bind(notes);
    }
    if let Some(tags) = changes.tags {
        let tags = serde_json::to_string(&tags).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        update.push(", tags = ").push_bind(tags);
    }
    update.push(" WHERE business_id = ").push_bind(business_id).push(" AND id = ").push_bind(id);
    if tx.conn().execute(update).await? == 0 {
        return Ok(None);
    }
    by_id(&mut *tx, id).await
}

/// A call as its roll-up row counts it: a live one, or one written as history.
pub trait RolledUp {
    /// What the roll-ups sum; `None` for a call still in progress (never rolled up).
    fn facts(&self) -> Option<Facts>;
}

macro_rules! rolled_up {
    ($($call:ty),*) => {$(
        impl RolledUp for $call {
            fn facts(&self) -> Option<Facts> {
                (self.status != CallStatus::InProgress).then(|| {
                    let outcome = (self.status, self.qualified);
                    Facts::new(self.business_id, self.created_at, outcome, self.duration_seconds, self.ai_score, &self.caller_number)
                })
            }
        }
    )*};
}
rolled_up!(Call, PastCall);

/// Adds (`sign` 1) completed calls to their roll-ups, or takes them away (`sign` -1);
/// calls in progress are not rolled up.
pub async fn roll_up<'a, T: RolledUp + 'a>(
    tx: &mut Tx,
    calls: impl IntoIterator<Item = &'a T>,
    sign: i64,
) -> Result<()> {
    let facts: Vec<Facts> = calls.into_iter().filter_map(RolledUp::facts).collect();
    rollups::apply(tx, &facts, sign).await
}

/// The automatic verdict on a call: its lead score and whether it qualifies. A person's
/// verdict, when given, stays the effective one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    pub ai_score: i64,
    pub ai_category: String,
    pub ai_reasons: Vec<String>,
    pub qualified_auto: bool,
}

pub async fn set_score(tx: &mut Tx, id: CallId, scored: &Scored) -> Result<Call> {
    let reasons =
        serde_json::to_string(&scored.ai_reasons).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    let update = Sql::new(
        "UPDATE calls SET ai_score = $1, ai_category = $2, ai_reasons = $3, qualified_auto = $4,
            qualified = COALESCE(qualified_by_person, $4), updated_at = $5 WHERE id = $6",
    )
    .bind(scored.ai_score)
    .bind(scored.ai_category.as_str())
    .bind(reasons)
    .bind(scored.qualified_auto)
    .bind(tx.now())
    .bind(id);
    tx.conn().execute(update).await?;
    Ok(by_id(&mut *tx, id).await?.expect("the call exists"))
}

/// Records a new inbound call, in progress. `first_time_caller` is whether the business
/// never had a call from this number before; a withheld caller is no one in particular, so
/// never a first-time caller (nor a repeat of another withheld call).
pub async fn insert(tx: &mut Tx, new: NewCall, engine_state: &str) -> Result<Call> {
    let first_time = !new.caller_withheld && {
        let earlier =
            Sql::new("SELECT 1 AS value FROM calls WHERE business_id = $1 AND caller_number = $2 LIMIT 1")
                .bind(new.business_id)
                .bind(new.caller_number.as_str());
        tx.conn().fetch_optional::<i64>(earlier).await?.is_none()
    };
    let id = CallId::new();
    let now = tx.now();
    let visit = new.visit.unwrap_or_default();
    let landing_page_address = visit.landing_page.as_deref().map(page_address).map(str::to_owned);
    let insert = Sql::new(
        "INSERT INTO calls (id, business_id, call_sid, number_id, caller_number, tracking_number, call_flow_id,
            call_flow_version, call_flow_name, status, caller_city, caller_state, caller_zip, first_time_caller,
            utm_source, source, engine_state, utm_medium, utm_campaign, gclid, landing_page, referrer, session_id,
            created_at, updated_at, caller_withheld, landing_page_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
            $23, $24, $24, $25, $26)",
    )
    .bind(id)
    .bind(new.business_id)
    .bind(new.call_sid)
    .bind(new.number_id)
    .bind(new.caller_number)
    .bind(new.tracking_number)
    .bind(new.call_flow_id)
    .bind(new.call_flow_version)
    .bind(new.call_flow_name)
    .bind(IN_PROGRESS)
    .bind(new.caller_city)
    .bind(new.caller_state)
    .bind(new.caller_zip)
    .bind(first_time)
    .bind(new.utm_source)
    .bind(new.source)
    .bind(engine_state)
    .bind(visit.utm_medium)
    .bind(visit.utm_campaign)
    .bind(visit.gclid)
    .bind(visit.landing_page)
    .bind(visit.referrer)
    .bind(visit.session_id)
    .bind(now)
    .bind(new.caller_withheld)
    .bind(landing_page_address);
    tx.conn().execute(insert).await?;
    Ok(by_id(&mut *tx, id).await?.expect("just inserted"))
}

/// Calls still in progress with no sign of life (no callback) since `since`, the quietest
/// first, from just after `after` (an `updated_at` and id, as the last of the previous
/// page), at most `limit`: those whose final status may have been lost.
pub async fn quiet_in_progress(
    mut db: impl Connection,
    since: Timestamp,
    after: (Timestamp, CallId),
    limit: i64,
) -> Result<Vec<Call>> {
    // The status is written out, not bound, so both planners see the partial index applies.
    let select = Sql::new(format!(
        "SELECT {COLUMNS} FROM calls WHERE status = '{IN_PROGRESS}' AND updated_at < $1
         AND (updated_at > $2 OR (updated_at = $2 AND id > $3))
         ORDER BY updated_at, id LIMIT $4"
    ))
    .bind(since)
    .bind(after.0)
    .bind(after.1)
    .bind(limit);
    Ok(db.conn().fetch_all(select).await?)
}

/// Holds the call's row until `tx` ends, so that two callbacks of one call (a dial's end
/// and its recording, say) are handled one after the other.
pub async fn lock(tx: &mut Tx, id: CallId) -> Result<Option<Call>> {
    let select = Sql::new(format!("SELECT {COLUMNS} FROM calls WHERE id = $1{}", tx.row_lock())).bind(id);
    Ok(tx.conn().fetch_optional(select).await?)
}

pub async fn save_state(tx: &mut Tx, id: CallId, engine_state: &str) -> Result<()> {
    let update = Sql::new("UPDATE calls SET engine_state = $1, updated_at = $2 WHERE id = $3")
        .bind(engine_state)
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// What was remembered for a callback (`kind`, `seq`) of a call: the answer given, or a
/// fact such as which agent answered.
pub async fn event(mut db: impl Connection, call_id: CallId, kind: &str, seq: i64) -> Result<Option<String>> {
    let select = Sql::new("SELECT response FROM call_events WHERE call_id = $1 AND kind = $2 AND seq = $3")
        .bind(call_id)
        .bind(kind)
        .bind(seq);
    let row: Option<Response> = db.conn().fetch_optional(select).await?;
    Ok(row.map(|r| r.0))
}

/// Remembers a callback's answer. A repeat of the same (kind, seq) keeps the first.
pub async fn remember(tx: &mut Tx, call_id: CallId, kind: &str, seq: i64, response: &str) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO call_events (call_id, kind, seq, response, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (call_id, kind, seq) DO NOTHING",
    )
    .bind(call_id)
    .bind(kind)
    .bind(seq)
    .bind(response)
    .bind(tx.now());
    tx.conn().execute(insert).await?;
    Ok(())
}

struct Response(String);

impl FromRecord for Response {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.text("response").map(Response)
    }
}

pub async fn set_answered(tx: &mut Tx, id: CallId, agent: &PhoneNumber, at: Timestamp) -> Result<()> {
    let update = Sql::new(
        "UPDATE calls SET destination_number = $1, answered_at = COALESCE(answered_at, $2), updated_at = $2 WHERE id = $3",
    )
    .bind(agent.as_str())
    .bind(at)
    .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Notes where the carrier keeps the call's recording.
pub async fn set_recording_url(tx: &mut Tx, id: CallId, url: &str) -> Result<()> {
    let update = Sql::new("UPDATE calls SET recording_url = $1, updated_at = $2 WHERE id = $3")
        .bind(url)
        .bind(tx.now())
        .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Sets when a call began and was answered (a simulated call's, stamped afterwards).
pub async fn set_times(
    tx: &mut Tx,
    id: CallId,
    created_at: Timestamp,
    answered_at: Option<Timestamp>,
) -> Result<()> {
    let update = Sql::new("UPDATE calls SET created_at = $1, answered_at = $2 WHERE id = $3")
        .bind(created_at)
        .bind(answered_at)
        .bind(id);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Keeps a voicemail the caller left: on the call, and in the voicemails list (once).
/// Answers whether it is new to the list.
pub async fn keep_voicemail(tx: &mut Tx, call: &Call, url: &str, seconds: i64) -> Result<bool> {
    let now = tx.now();
    let update = Sql::new(
        "UPDATE calls SET voicemail_url = $1, voicemail_seconds = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(url)
    .bind(seconds)
    .bind(now)
    .bind(call.id);
    tx.conn().execute(update).await?;
    let insert = Sql::new(
        "INSERT INTO voicemails (id, business_id, call_id, recording_url, duration_seconds, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(ringtrack_domain::VoicemailId::new())
    .bind(call.business_id)
    .bind(call.id)
    .bind(url)
    .bind(seconds)
    .bind(now);
    Ok(tx.conn().execute(insert).await? == 1)
}

/// A finished call written whole, as an import or `ringtrack seed` records history.
#[derive(Clone, Debug)]
pub struct PastCall {
    pub id: CallId,
    pub business_id: BusinessId,
    pub number_id: Option<NumberId>,
    pub caller_number: String,
    pub tracking_number: String,
    pub destination_number: Option<String>,
    pub call_flow_id: Option<CallFlowId>,
    pub call_flow_name: Option<String>,
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub qualified: bool,
    pub ai_score: Option<i64>,
    pub first_time_caller: bool,
    pub source: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub gclid: Option<String>,
    pub landing_page: Option<String>,
    pub caller_state: Option<String>,
    pub cost: Cents,
    pub created_at: Timestamp,
}

/// Arguments each row binds.
const PAST_COLUMNS: usize = 26;

/// Writes finished calls in multi-row inserts (a few hundred rows a statement).
pub async fn insert_past(tx: &mut Tx, past: &[PastCall]) -> Result<()> {
    // Both databases cap a statement's arguments (SQLite at 32766): stay well below.
    for chunk in past.chunks(30_000 / PAST_COLUMNS) {
        let mut insert = Sql::new(
            "INSERT INTO calls (id, business_id, number_id, caller_number, tracking_number, destination_number,
                call_flow_id, call_flow_name, status, duration_seconds, qualified, qualified_auto, ai_score,
                first_time_caller, source, utm_source, utm_medium, utm_campaign, gclid, landing_page, caller_state,
                cost_cents, created_at, updated_at, answered_at, ended_at, landing_page_address) VALUES ",
        );
        for (i, c) in chunk.iter().enumerate() {
            insert.push(if i == 0 { "(" } else { ", (" });
            insert.push_bind(c.id).push(", ").push_bind(c.business_id).push(", ").push_bind(c.number_id);
            insert
                .push(", ")
                .push_bind(c.caller_number.as_str())
                .push(", ")
                .push_bind(c.tracking_number.as_str());
            insert.push(", ").push_bind(c.destination_number.clone()).push(", ").push_bind(c.call_flow_id);
            insert.push(", ").push_bind(c.call_flow_name.clone()).push(", ").push_bind(c.status.as_str());
            insert.push(", ").push_bind(c.duration_seconds).push(", ").push_bind(c.qualified);
            insert.push(", ").push_bind(c.qualified).push(", ").push_bind(c.ai_score);
            insert.push(", ").push_bind(c.first_time_caller).push(", ").push_bind(c.source.clone());
            insert.push(", ").push_bind(c.utm_source.clone()).push(", ").push_bind(c.utm_medium.clone());
            insert.push(", ").push_bind(c.utm_campaign.clone()).push(", ").push_bind(c.gclid.clone());
            insert.push(", ").push_bind(c.landing_page.clone()).push(", ").push_bind(c.caller_state.clone());
            insert.push(", ").push_bind(c.cost.get()).push(", ").push_bind(c.created_at);
            // updated_at, answered_at and ended_at follow from the start and the length.
            let ended = c.created_at + jiff::SignedDuration::from_secs(c.duration_seconds + 20);
            let answered = (c.status == CallStatus::Answered)
                .then(|| c.created_at + jiff::SignedDuration::from_secs(15));
            insert
                .push(", ")
                .push_bind(ended)
                .push(", ")
                .push_bind(answered)
                .push(", ")
                .push_bind(ended)
                .push(", ")
                .push_bind(c.landing_page.as_deref().map(page_address).map(str::to_owned))
                .push(")");
        }
        tx.conn().execute(insert).await?;
    }
    Ok(())
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub status: CallStatus,
    pub duration_seconds: i64,
    pub cost: Cents,
    pub ended_at: Timestamp,
}

/// Completes a call in progress; `None` when it was complete already (a repeated final
/// status).
pub async fn mark_complete(tx: &mut Tx, call: &Call, completion: &Completion) -> Result<Option<Call>> {
    let update = Sql::new(
        "UPDATE calls SET status = $1, duration_seconds = $2, cost_cents = $3, ended_at = $4, updated_at = $4
         WHERE id = $5 AND status = $6",
    )
    .bind(completion.status.as_str())
    .bind(completion.duration_seconds)
    .bind(completion.cost.get())
    .bind(completion.ended_at)
    .bind(call.id)
    .bind(IN_PROGRESS);
    if tx.conn().execute(update).await? == 0 {
        return Ok(None);
    }
    by_id(&mut *tx, call.id).await
}

/// Migration 25: the landing page's address of the calls written before it. Addresses
/// without a query or fragment are themselves; the rest are cut in Rust (the two databases
/// name "position of" differently), once per distinct landing page.
pub(crate) fn backfill_landing_page_addresses(
    tx: &mut Tx,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + '_>> {
    Box::pin(async move {
        let plain = "UPDATE calls SET landing_page_address = landing_page
             WHERE landing_page IS NOT NULL AND landing_page NOT LIKE '%?%' AND landing_page NOT LIKE '%#%'";
        tx.conn().execute_script(plain).await?;
        let rest = Sql::new(
            "SELECT DISTINCT landing_page AS value FROM calls
             WHERE landing_page IS NOT NULL AND landing_page_address IS NULL",
        );
        let pages: Vec<String> = tx.conn().fetch_all(rest).await?;
        for page in pages {
            let update = Sql::new("UPDATE calls SET landing_page_address = $1 WHERE landing_page = $2")
                .bind(page_address(&page))
                .bind(page.as_str());
            tx.conn().execute(update).await?;
        }
        Ok(())
    })
}
