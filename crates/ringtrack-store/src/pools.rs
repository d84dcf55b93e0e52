//! Number pools for dynamic number insertion, and the leasing of their numbers to website
//! visits. Each pool number has one `pool_numbers` row naming the session that holds it,
//! so no number is ever held by two sessions; a lease chooses and takes its row in one
//! statement (skipping rows being taken by others on PostgreSQL; SQLite has one writer),
//! so concurrent visits, on one node or several, never share a number.

use jiff::Timestamp;
use ringtrack_domain::dni::{Attribution, VisitorFilter};
use ringtrack_domain::paging::{Cursor, PageRequest};
use ringtrack_domain::{BusinessId, CallFlowId, NumberId, NumberPoolId, PhoneNumber};
use uuid::Uuid;

use crate::paging::{Keyed, Page, fetch_page};
use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::sqlite_read::rows;
use crate::{Backend, Connection, Result, Store, Tx};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    pub id: NumberPoolId,
    pub business_id: BusinessId,
    pub name: String,
    pub call_flow_id: Option<CallFlowId>,
    pub target_number: PhoneNumber,
    pub session_timeout_seconds: i64,
    pub visitor_filter: VisitorFilter,
    pub overflow_count: i64,
    pub number_ids: Vec<NumberId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRecord for Pool {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        let decode = |e: String| sqlx::Error::Decode(e.into());
        let ids = row.opt_text("number_ids")?.unwrap_or_default();
        Ok(Pool {
            id: row.parsed("id")?,
            business_id: row.parsed("business_id")?,
            name: row.text("name")?,
            call_flow_id: row.opt_parsed("call_flow_id")?,
            target_number: PhoneNumber::parse(&row.text("target_number")?)
                .map_err(|e| decode(e.to_string()))?,
            session_timeout_seconds: row.int("session_timeout_seconds")?,
            visitor_filter: VisitorFilter::parse(&row.text("visitor_filter")?)
                .ok_or_else(|| decode("unknown visitor filter".into()))?,
            overflow_count: row.int("overflow_count")?,
            number_ids: ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| decode(format!("bad number id {s}"))))
                .collect::<sqlx::Result<_>>()?,
            created_at: row.time("created_at")?,
            updated_at: row.time("updated_at")?,
        })
    }
}

impl Keyed for Pool {
    fn cursor(&self) -> Cursor {
        Cursor { created_at: self.created_at.as_second(), id: self.id.as_uuid() }
    }
}

/// A pool's columns, its member ids comma-separated (each dialect aggregates its own way).
fn columns(backend: Backend) -> String {
    let aggregate = match backend {
        Backend::Postgres => "string_agg(pn.number_id, ',' ORDER BY pn.number_id)",
        Backend::Sqlite => "group_concat(pn.number_id, ',')",
    };
    format!(
        "p.id, p.business_id, p.name, p.call_flow_id, p.target_number, p.session_timeout_seconds, p.visitor_filter,
         (SELECT CAST(COALESCE(SUM(o.count), 0) AS BIGINT) FROM pool_overflows o WHERE o.pool_id = p.id) AS overflow_count,
         p.created_at, p.updated_at,
         (SELECT {aggregate} FROM pool_numbers pn WHERE pn.pool_id = p.id) AS number_ids"
    )
}

/// A pool's settings, as created or changed.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub name: String,
    pub call_flow_id: Option<CallFlowId>,
    pub target_number: PhoneNumber,
    pub session_timeout_seconds: i64,
    pub visitor_filter: VisitorFilter,
    pub number_ids: Vec<NumberId>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PoolError {
    NotFound,
    /// Positions of `number_ids` that name no number of the business, a released one, or
    /// one in another pool.
    InvalidNumbers(Vec<(usize, String)>),
}

pub async fn get(mut db: impl Connection, business_id: BusinessId, id: NumberPoolId) -> Result<Option<Pool>> {
    let backend = db.conn().backend();
    let select = Sql::new(format!(
        "SELECT {} FROM number_pools p WHERE p.business_id = $1 AND p.id = $2 AND p.deleted_at IS NULL",
        columns(backend)
    ))
    .bind(business_id)
    .bind(id);
    Ok(db.conn().fetch_optional(select).await?)
}

pub async fn list(
    mut db: impl Connection,
    business_id: BusinessId,
    page: &PageRequest,
) -> Result<Page<Pool>> {
    let backend = db.conn().backend();
    let from =
        Sql::new("FROM number_pools p WHERE p.business_id = $1 AND p.deleted_at IS NULL").bind(business_id);
    fetch_page(db, &columns(backend), from, "p.", page).await
}

/// Checks `numbers` can join pool `pool` (the business's, in service, in no other pool).
async fn check_numbers(
    tx: &mut Tx,
    business_id: BusinessId,
    pool: NumberPoolId,
    numbers: &[NumberId],
) -> Result<Vec<(usize, String)>> {
    let mut refused = Vec::new();
    for (i, id) in numbers.iter().enumerate() {
        let select = Sql::new(
            "SELECT n.status AS status, pn.pool_id AS pool_id FROM numbers n
             LEFT JOIN pool_numbers pn ON pn.number_id = n.id WHERE n.business_id = $1 AND n.id = $2",
        )
        .bind(business_id)
        .bind(*id);
        match tx.conn().fetch_optional::<Membership>(select).await? {
            None => refused.push((i, "is not a number of this business".into())),
            Some(m) if m.status == "released" => refused.push((i, "is released".into())),
            Some(Membership { pool_id: Some(other), .. }) if other != pool.to_string() => {
                refused.push((i, format!("is already in pool {other}")));
            }
            Some(_) => {}
        }
    }
    Ok(refused)
}

struct Membership {
    status: String,
    pool_id: Option<String>,
}

impl FromRecord for Membership {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Membership { status: row.text("status")?, pool_id: row.opt_text("pool_id")? })
    }
}

/// Makes the pool hold exactly `numbers`: members leave (their leases end), newcomers join
/// free; every member routes through the pool's call flow.
async fn set_members(tx: &mut Tx, pool: NumberPoolId, settings: &PoolSettings, now: Timestamp) -> Result<()> {
    let leaving = Sql::new("SELECT number_id AS value FROM pool_numbers WHERE pool_id = $1").bind(pool);
    let current: Vec<String> = tx.conn().fetch_all(leaving).await?;
    for gone in current.iter().filter(|id| !settings.number_ids.iter().any(|n| &n.to_string() == *id)) {
        tx.conn()
            .execute(Sql::new("DELETE FROM pool_numbers WHERE number_id = $1").bind(gone.as_str()))
            .await?;
        tx.conn()
            .execute(Sql::new("UPDATE numbers SET pool_id = NULL WHERE id = $1").bind(gone.as_str()))
            .await?;
    }
    for id in &settings.number_ids {
        let join = Sql::new(
            "INSERT INTO pool_numbers (number_id, pool_id, free_since) VALUES ($1, $2, 0)
             ON CONFLICT (number_id) DO NOTHING",
        )
        .bind(*id)
        .bind(pool);
        tx.conn().execute(join).await?;
        let route = Sql::new("UPDATE numbers SET pool_id = $1, call_flow_id = COALESCE($2, call_flow_id), updated_at = $3 WHERE id = $4")
            .bind(pool.to_string())
            .bind(settings.call_flow_id)
            .bind(now)
            .bind(*id);
        tx.conn().execute(route).await?;
    }
    Ok(())
}

pub async fn create(
    tx: &mut Tx,
    business_id: BusinessId,
    settings: &PoolSettings,
) -> Result<Result<Pool, PoolError>> {
    let id = NumberPoolId::new();
    let refused = check_numbers(tx, business_id, id, &settings.number_ids).await?;
    if !refused.is_empty() {
        return Ok(Err(PoolError::InvalidNumbers(refused)));
    }
    let now = tx.now();
    let insert = Sql::new(
        "INSERT INTO number_pools (id, business_id, name, call_flow_id, target_number, session_timeout_seconds,
            visitor_filter, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(business_id)
    .bind(settings.name.as_str())
    .bind(settings.call_flow_id)
    .bind(settings.target_number.as_str())
    .bind(settings.session_timeout_seconds)
    .bind(settings.visitor_filter.as_str())
    .bind(now);
    tx.conn().execute(insert).await?;
    set_members(tx, id, settings, now).await?;
    Ok(Ok(get(&mut *tx, business_id, id).await?.expect("just created")))
}

pub async fn update(
    tx: &mut Tx,
    business_id: BusinessId,
    id: NumberPoolId,
    settings: &PoolSettings,
) -> Result<Result<Pool, PoolError>> {
    if get(&mut *tx, business_id, id).await?.is_none() {
        return Ok(Err(PoolError::NotFound));
    }
    let refused = check_numbers(tx, business_id, id, &settings.number_ids).await?;
    if !refused.is_empty() {
        return Ok(Err(PoolError::InvalidNumbers(refused)));
    }
    let now = tx.now();
    let update = Sql::new(
        "UPDATE number_pools SET name = $1, call_flow_id = $2, target_number = $3, session_timeout_seconds = $4,
            visitor_filter = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(settings.name.as_str())
    .bind(settings.call_flow_id)
    .bind(settings.target_number.as_str())
    .bind(settings.session_timeout_seconds)
    .bind(settings.visitor_filter.as_str())
    .bind(now)
    .bind(id);
    tx.conn().execute(update).await?;
    set_members(tx, id, settings, now).await?;
    Ok(Ok(get(&mut *tx, business_id, id).await?.expect("exists")))
}

/// Deletes a pool: its numbers leave it (keeping their call flow); its past visits stay,
/// so calls they led to are still attributed.
pub async fn delete(tx: &mut Tx, business_id: BusinessId, id: NumberPoolId) -> Result<bool> {
    let now = tx.now();
    let mark = Sql::new(
        "UPDATE number_pools SET deleted_at = $1 WHERE business_id = $2 AND id = $3 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(business_id)
    .bind(id);
    if tx.conn().execute(mark).await? == 0 {
        return Ok(false);
    }
    tx.conn()
        .execute(Sql::new("UPDATE numbers SET pool_id = NULL WHERE pool_id = $1").bind(id.to_string()))
        .await?;
    tx.conn().execute(Sql::new("DELETE FROM pool_numbers WHERE pool_id = $1").bind(id)).await?;
    Ok(true)
}

/// The business of a pool that is not deleted.
pub async fn business_of(mut db: impl Connection, id: NumberPoolId) -> Result<Option<BusinessId>> {
    let select =
        Sql::new("SELECT business_id AS value FROM number_pools WHERE id = $1 AND deleted_at IS NULL")
            .bind(id);
    Ok(db.conn().fetch_optional::<String>(select).await?.and_then(|id| id.parse().ok()))
}

/// A visit asking for a number.
#[derive(Clone, Debug, Default)]
pub struct Visit {
    pub visitor_id: String,
    /// The session the visitor's browser remembers, if any.
    pub session_id: Option<Uuid>,
    pub landing_page: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub attribution: Attribution,
    /// Who asked, as a keyed hash of their address (never the address itself): one
    /// address holds at most `Guards::leases_per_client` numbers of a pool at once.
    pub client_key: Option<String>,
}

/// What keeps one client from holding a whole pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guards {
    /// Numbers of one pool that visits from one address may hold at once; beyond them a
    /// visit is shown the target, keeps no session and counts as no visit.
    pub leases_per_client: i64,
}

/// A lease older than this may be given to a new visit when the pool has nothing else to
/// give, however its page beats: heartbeats alone never hold a number for ever.
pub const MAX_LEASE_SECONDS: i64 = 30 * 60;

/// What a visit is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// None when the visit was refused a session (its address holds enough numbers).
    pub session_id: Option<Uuid>,
    /// The pool number leased; `None`: show the target number.
    pub number: Option<PhoneNumber>,
    pub target: PhoneNumber,
    /// The pool had no number to give.
    pub overflow: bool,
}

/// A lease whose page has not sent a heartbeat for this long may be given to a new visit
/// when the pool has no free number (the script beats every 30 s while the page is open).
pub const IDLE_SECONDS: i64 = 90;

/// The pool as a lease reads it, with how many of its numbers the visit's address holds
/// and the number the visitor holds, if any.
struct PoolRow {
    target: PhoneNumber,
    filter: VisitorFilter,
    business_id: BusinessId,
    held_by_client: i64,
    held: Option<Held>,
}

impl FromRecord for PoolRow {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(PoolRow {
            target: PhoneNumber::parse(&row.text("target_number")?)
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
            filter: VisitorFilter::parse(&row.text("visitor_filter")?).unwrap_or(VisitorFilter::All),
            business_id: row.parsed("business_id")?,
            held_by_client: row.int("held_by_client")?,
            held: match (row.opt_parsed("held_session_id")?, row.opt_parsed("held_number_id")?) {
                (Some(session_id), Some(number_id)) => Some(Held {
                    session_id,
                    number_id,
                    phone: PhoneNumber::parse(&row.text("held_phone")?)
                        .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
                }),
                _ => None,
            },
        })
    }
}

/// The number a returning visitor's session holds.
struct Held {
    session_id: Uuid,
    number_id: NumberId,
    phone: PhoneNumber,
}

/// Numbers of a pool a client's visits hold, for the pool row `p` (`$2` the client's key,
/// `$3` now).
const HELD_BY_CLIENT: &str = "(SELECT count(*) FROM pool_numbers h
     WHERE h.pool_id = p.id AND h.holder_client_key = $2 AND h.last_seen_at + p.session_timeout_seconds > $3)";

/// Overflows are counted in this many rows a pool, one picked at random, so that visits
/// shown the target at once do not queue for one row's lock.
const OVERFLOW_SHARDS: i64 = 8;

/// Gives the visit a number of pool `pool_id` (unknown or deleted pool: `None`): the one it
/// already holds (a returning visitor within the timeout), else the least recently released
/// free one, else the longest-idle lease, else none (the target, counted as overflow).
///
/// What the visit holds and what its address holds are read first, outside any write;
/// then one write starts the session and takes a number ([`take_and_start`]): it chooses
/// and updates the row at once (skipping rows other transactions are taking, on
/// PostgreSQL), and checks the address's share in the same statement, so no number is
/// leased twice and no address passes its share, however many visits arrive at once on
/// however many nodes.
pub async fn lease(
    store: &Store,
    pool_id: NumberPoolId,
    visit: &Visit,
    guards: Guards,
) -> Result<Option<Lease>> {
    let now = store.now();
    let now_s = now.as_second();
    // One read: the pool, what the visit's address holds, and the number the visitor
    // holds still (a returning visitor keeps it).
    let pool = Sql::new(format!(
        "SELECT p.business_id, p.target_number, p.visitor_filter, {HELD_BY_CLIENT} AS held_by_client,
                h.session_id AS held_session_id, h.number_id AS held_number_id, h.phone_number AS held_phone
         FROM number_pools p LEFT JOIN (
             SELECT pn.pool_id, pn.session_id, pn.number_id, n.phone_number
             FROM pool_numbers pn JOIN numbers n ON n.id = pn.number_id JOIN number_pools q ON q.id = pn.pool_id
             WHERE pn.pool_id = $1 AND pn.holder_visitor_id = $4 AND pn.last_seen_at + q.session_timeout_seconds > $3
             ORDER BY CASE WHEN pn.session_id = $5 THEN 0 ELSE 1 END LIMIT 1) h ON h.pool_id = p.id
         WHERE p.id = $1 AND p.deleted_at IS NULL"
    ))
    .bind(pool_id)
    .bind(visit.client_key.clone().unwrap_or_default())
    .bind(now_s)
    .bind(visit.visitor_id.as_str())
    .bind(visit.session_id.map(|s| s.to_string()).unwrap_or_default())
    // One pool row by its key, and through their indexes only the pool's numbers this
    // visitor or address holds: run in place on SQLite, like a read by a unique key.
    .on_unique_key();
    let mut reader = store;
    let Some(pool) = reader.conn().fetch_optional::<PoolRow>(pool).await? else { return Ok(None) };
    let lease = |session_id, number: Option<PhoneNumber>, overflow| Lease {
        session_id,
        number,
        target: pool.target.clone(),
        overflow,
    };

    if let Some(held) = &pool.held {
        let mut tx = store.begin().await?;
        touch(&mut tx, held.session_id, held.number_id, now).await?;
        tx.commit().await?;
        return Ok(Some(lease(Some(held.session_id), Some(held.phone.clone()), false)));
    }
    let session = Uuid::now_v7();
    if !pool.filter.admits(&visit.attribution) {
        let mut tx = store.begin().await?;
        let start = new_session(pool_id, session, pool.business_id, visit, now_s).bind(None::<NumberId>);
        tx.conn().execute(start).await?;
        tx.commit().await?;
        return Ok(Some(lease(Some(session), None, false)));
    }
    if visit.client_key.is_some() && pool.held_by_client >= guards.leases_per_client {
        return Ok(Some(lease(None, None, false)));
    }
    let leased = take_and_start(store, pool_id, pool.business_id, session, visit, guards, now_s).await?;
    let overflow = leased.is_none();
    Ok(Some(lease(Some(session), leased, overflow)))
}

/// The best number of pool `$1` to lease now (`$3`): a free one (longest free first), else
/// one whose lease timed out, else the longest idle (last seen before `{idle}`) or oldest
/// (leased before `{oldest}`) lease.
fn best_number(idle: &str, oldest: &str) -> String {
    format!(
        "SELECT pn.number_id FROM pool_numbers pn JOIN numbers n ON n.id = pn.number_id
         JOIN number_pools p ON p.id = pn.pool_id
         WHERE pn.pool_id = $1 AND n.status <> 'released'
           AND (pn.session_id IS NULL OR pn.last_seen_at + p.session_timeout_seconds <= $3
                OR pn.last_seen_at <= {idle} OR pn.leased_at <= {oldest})
         ORDER BY CASE WHEN pn.session_id IS NULL OR pn.last_seen_at + p.session_timeout_seconds <= $3 THEN 0 ELSE 1 END,
                  CASE WHEN pn.session_id IS NULL THEN pn.free_since
                       WHEN pn.last_seen_at + p.session_timeout_seconds <= $3 THEN pn.last_seen_at + p.session_timeout_seconds
                       ELSE pn.last_seen_at END,
                  pn.number_id
         LIMIT 1"
    )
}

/// A new session's row, its number `{number}`, its values bound by [`session_values`].
fn session_insert(number: &str) -> String {
    format!(
        "INSERT INTO dni_sessions (id, pool_id, business_id, visitor_id, number_id, landing_page, referrer, user_agent,
            utm_source, utm_medium, utm_campaign, utm_term, utm_content, gclid, fbclid, msclkid, started_at, last_seen_at,
            client_key)
         VALUES ($4, $1, $5, $6, {number}, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $3, $3, $2)"
    )
}

/// `text` with a new session's values bound as `$1` … `$17`: the pool, the address's key,
/// now, the session's id, the business, then the visit's fields.
fn session_values(
    text: String,
    pool_id: NumberPoolId,
    session: Uuid,
    business_id: BusinessId,
    visit: &Visit,
    now_s: i64,
) -> Sql {
    let a = &visit.attribution;
    Sql::new(text)
        .bind(pool_id)
        .bind(visit.client_key.clone().unwrap_or_default())
        .bind(now_s)
        .bind(session)
        .bind(business_id)
        .bind(visit.visitor_id.as_str())
        .bind(visit.landing_page.clone())
        .bind(visit.referrer.clone())
        .bind(visit.user_agent.clone())
        .bind(a.utm_source.clone())
        .bind(a.utm_medium.clone())
        .bind(a.utm_campaign.clone())
        .bind(a.utm_term.clone())
        .bind(a.utm_content.clone())
        .bind(a.gclid.clone())
        .bind(a.fbclid.clone())
        .bind(a.msclkid.clone())
}

/// A number leased to a new session, and the session that held it before.
struct Leased {
    number_id: NumberId,
    phone: PhoneNumber,
    previous: Option<Uuid>,
}

impl FromRecord for Leased {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        let phone = PhoneNumber::parse(&row.text("phone_number")?);
        Ok(Leased {
            number_id: row.parsed("number_id")?,
            phone: phone.map_err(|e| sqlx::Error::Decode(e.to_string().into()))?,
            previous: row.opt_parsed("previous_session_id")?,
        })
    }
}

/// Starts session `session` and leases it the pool's best number in the same write, or,
/// when the pool has nothing to give or the visit's address holds its share, starts it on
/// the target and counts an overflow. The number's previous holder's visit ends. The
/// number is chosen and taken by one `UPDATE`, which checks the address's share too.
///
/// PostgreSQL does it all in one statement (the number's row taken `FOR UPDATE SKIP
/// LOCKED`, so concurrent visits on any node take different rows); SQLite, which has one
/// writer and no changes inside `WITH`, in a transaction of three statements run whole on
/// one blocking thread.
async fn take_and_start(
    store: &Store,
    pool_id: NumberPoolId,
    business_id: BusinessId,
    session: Uuid,
    visit: &Visit,
    guards: Guards,
    now_s: i64,
) -> Result<Option<PhoneNumber>> {
    // Without an address, only the pool's size bounds what a visit may take.
    let share = if visit.client_key.is_some() { guards.leases_per_client } else { i64::MAX };
    let guard = format!("(SELECT {HELD_BY_CLIENT} FROM number_pools p WHERE p.id = $1) < {share}");
    // The holder's visitor (`{visitor}`) and address are kept on the row, for the reads.
    let take = |visitor: &str| {
        format!(
            "UPDATE pool_numbers SET session_id = $4, previous_session_id = session_id,
                holder_visitor_id = {visitor}, holder_client_key = $2, last_seen_at = $3, leased_at = $3"
        )
    };
    let count_overflow = "INSERT INTO pool_overflows (pool_id, shard, count)";
    let on_overflow = "ON CONFLICT (pool_id, shard) DO UPDATE SET count = pool_overflows.count + 1";
    let end_previous = "UPDATE dni_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL";
    let shard = i64::from(session.as_bytes()[15]) % OVERFLOW_SHARDS;
    let (idle, oldest) = (now_s - IDLE_SECONDS, now_s - MAX_LEASE_SECONDS);
    let Some(writer) = store.direct_writer() else {
        let statement = format!(
            "WITH taken AS ({} WHERE number_id = ({} FOR UPDATE OF pn SKIP LOCKED) AND {guard}
                 RETURNING number_id, previous_session_id),
             ended AS ({}),
             counted AS ({count_overflow} SELECT $1, $20, 1 WHERE NOT EXISTS (SELECT 1 FROM taken) {on_overflow}),
             started AS ({})
             SELECT t.number_id, t.previous_session_id, n.phone_number FROM taken t JOIN numbers n ON n.id = t.number_id",
            take("$6"),
            best_number("$18", "$19"),
            end_previous.replace("$1", "$3").replace("$2", "(SELECT previous_session_id FROM taken)"),
            session_insert("(SELECT number_id FROM taken)")
        );
        let sql = session_values(statement, pool_id, session, business_id, visit, now_s)
            .bind(idle)
            .bind(oldest)
            .bind(shard);
        let mut db = store;
        return Ok(db.conn().fetch_optional::<Leased>(sql).await?.map(|l| l.phone));
    };
    let take = Sql::new(format!(
        "{} WHERE number_id = ({}) AND {guard}
         RETURNING number_id, previous_session_id,
             (SELECT phone_number FROM numbers WHERE numbers.id = pool_numbers.number_id) AS phone_number",
        take("$5"),
        best_number("$6", "$7")
    ))
    .bind(pool_id)
    .bind(visit.client_key.clone().unwrap_or_default())
    .bind(now_s)
    .bind(session)
    .bind(visit.visitor_id.as_str())
    .bind(idle)
    .bind(oldest);
    let count =
        Sql::new(format!("{count_overflow} VALUES ($1, $2, 1) {on_overflow}")).bind(pool_id).bind(shard);
    let insert = new_session(pool_id, session, business_id, visit, now_s);
    // One trip to a blocking thread for the whole transaction (see `sqlite_read::Writer`).
    let leased = writer
        .transaction(move |tx| {
            let taken = rows(tx, &take)?.first().map(|row| Leased::from_record(row)).transpose()?;
            match &taken {
                Some(Leased { previous: Some(previous), .. }) => {
                    rows(tx, &Sql::new(end_previous).bind(now_s).bind(*previous))?;
                }
                Some(_) => {}
                None => {
                    rows(tx, &count)?;
                }
            }
            rows(tx, &insert.bind(taken.as_ref().map(|t| t.number_id)))?;
            Ok(taken.map(|t| t.phone))
        })
        .await?;
    Ok(leased)
}

/// The statement starting session `session`; its number (`None`: the target) is bound
/// next, as `$18`.
fn new_session(
    pool_id: NumberPoolId,
    session: Uuid,
    business_id: BusinessId,
    visit: &Visit,
    now_s: i64,
) -> Sql {
    session_values(session_insert("$18"), pool_id, session, business_id, visit, now_s)
}

/// Notes that a session's page is still open.
async fn touch(tx: &mut Tx, session: Uuid, number: NumberId, now: Timestamp) -> Result<()> {
    let seen = Sql::new("UPDATE dni_sessions SET last_seen_at = $1 WHERE id = $2").bind(now).bind(session);
    tx.conn().execute(seen).await?;
    let held = Sql::new("UPDATE pool_numbers SET last_seen_at = $1 WHERE number_id = $2 AND session_id = $3")
        .bind(now.as_second())
        .bind(number)
        .bind(session);
    tx.conn().execute(held).await?;
    Ok(())
}

/// A session's heartbeat from `client_key`: keeps its lease, or (if the lease was lost)
/// leases anew for the same visit. `None` for an unknown session.
pub async fn heartbeat(
    store: &Store,
    session_id: Uuid,
    client_key: Option<String>,
    guards: Guards,
) -> Result<Option<Lease>> {
    let Some(session) = session(store, session_id).await? else { return Ok(None) };
    let visit = Visit {
        visitor_id: session.visitor_id.clone(),
        session_id: Some(session.id),
        landing_page: session.landing_page.clone(),
        referrer: session.referrer.clone(),
        user_agent: None,
        attribution: session.attribution.clone(),
        client_key,
    };
    lease(store, session.pool_id, &visit, guards).await
}

/// A visit, as attribution reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub pool_id: NumberPoolId,
    pub business_id: BusinessId,
    pub visitor_id: String,
    pub number_id: Option<NumberId>,
    pub landing_page: Option<String>,
    pub referrer: Option<String>,
    pub attribution: Attribution,
    pub started_at: Timestamp,
    pub last_seen_at: Timestamp,
}

const SESSION_COLUMNS: &str =
    "id, pool_id, business_id, visitor_id, number_id, landing_page, referrer, utm_source,
    utm_medium, utm_campaign, utm_term, utm_content, gclid, fbclid, msclkid, started_at, last_seen_at";

impl FromRecord for Session {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Session {
            id: row.parsed("id")?,
            pool_id: row.parsed("pool_id")?,
            business_id: row.parsed("business_id")?,
            visitor_id: row.text("visitor_id")?,
            number_id: row.opt_parsed("number_id")?,
            landing_page: row.opt_text("landing_page")?,
            referrer: row.opt_text("referrer")?,
            attribution: Attribution {
                utm_source: row.opt_text("utm_source")?,
                utm_medium: row.opt_text("utm_medium")?,
                utm_campaign: row.opt_text("utm_campaign")?,
                utm_term: row.opt_text("utm_term")?,
                utm_content: row.opt_text("utm_content")?,
                gclid: row.opt_text("gclid")?,
                fbclid: row.opt_text("fbclid")?,
                msclkid: row.opt_text("msclkid")?,
            },
            started_at: row.time("started_at")?,
            last_seen_at: row.time("last_seen_at")?,
        })
    }
}

pub async fn session(mut db: impl Connection, id: Uuid) -> Result<Option<Session>> {
    let select = Sql::new(format!("SELECT {SESSION_COLUMNS} FROM dni_sessions WHERE id = $1"))
        .bind(id)
        .on_unique_key();
    Ok(db.conn().fetch_optional(select).await?)
}

/// The visit a call to `number` at `at` came from: the session that held the number then
/// (or within its pool's timeout after its last heartbeat).
pub async fn session_for_call(
    mut db: impl Connection,
    number: NumberId,
    at: Timestamp,
) -> Result<Option<Session>> {
    let select = Sql::new(format!(
        "SELECT {} FROM dni_sessions s JOIN number_pools p ON p.id = s.pool_id
         WHERE s.number_id = $1 AND s.started_at <= $2 AND (s.ended_at IS NULL OR s.ended_at >= $2)
           AND s.last_seen_at + p.session_timeout_seconds >= $2
         ORDER BY s.started_at DESC LIMIT 1",
        SESSION_COLUMNS.split(", ").map(|c| format!("s.{}", c.trim())).collect::<Vec<_>>().join(", ")
    ))
    .bind(number)
    .bind(at);
    Ok(db.conn().fetch_optional(select).await?)
}

/// A pool's live figures.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStats {
    pub active_sessions: i64,
    /// The share of the pool's number-time leased over the last hour, 0 to 1.
    pub utilization: f64,
    /// The most visits at once over the last day (overflowed ones included).
    pub peak_concurrent_sessions: i64,
    pub overflow_count: i64,
}

struct Interval {
    start: i64,
    end: i64,
    leased: bool,
}

impl FromRecord for Interval {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Interval { start: row.int("start")?, end: row.int("finish")?, leased: row.boolean("leased")? })
    }
}

/// Visits holding one of the pool's numbers at `now`.
pub async fn active_sessions(mut db: impl Connection, pool: &Pool, now: Timestamp) -> Result<i64> {
    let active = Sql::new(
        "SELECT count(*) AS value FROM pool_numbers WHERE pool_id = $1 AND session_id IS NOT NULL AND last_seen_at + $2 > $3",
    )
    .bind(pool.id)
    .bind(pool.session_timeout_seconds)
    .bind(now.as_second());
    Ok(db.conn().fetch_one(active).await?)
}

pub async fn stats(mut db: impl Connection, pool: &Pool, now: Timestamp) -> Result<PoolStats> {
    let now_s = now.as_second();
    let active_sessions = active_sessions(&mut db, pool, now).await?;
    let day_ago = now_s - 86_400;
    let intervals = Sql::new(
        "SELECT started_at AS start,
                CASE WHEN ended_at IS NOT NULL AND ended_at < last_seen_at + $2 THEN ended_at
                     ELSE last_seen_at + $2 END AS finish,
                number_id IS NOT NULL AS leased
         FROM dni_sessions WHERE pool_id = $1 AND last_seen_at >= $3 AND started_at <= $4",
    )
    .bind(pool.id)
    .bind(pool.session_timeout_seconds)
    .bind(day_ago - pool.session_timeout_seconds)
    .bind(now_s);
    let intervals: Vec<Interval> = db.conn().fetch_all(intervals).await?;
    let hour_ago = now_s - 3600;
    let leased_seconds: i64 = intervals
        .iter()
        .filter(|i| i.leased)
        .map(|i| (i.end.min(now_s) - i.start.max(hour_ago)).max(0))
        .sum();
    let capacity = pool.number_ids.len() as i64 * 3600;
    let utilization = if capacity == 0 { 0.0 } else { (leased_seconds as f64 / capacity as f64).min(1.0) };
    let mut edges: Vec<(i64, i64)> = intervals
        .iter()
        .filter(|i| i.end > day_ago)
        .flat_map(|i| [(i.start.max(day_ago), 1), (i.end, -1)])
        .collect();
    // At one instant, visits starting count before visits ending.
    edges.sort_by_key(|&(at, change)| (at, -change));
    let (mut open, mut peak) = (0i64, 0i64);
    for (_, change) in edges {
        open += change;
        peak = peak.max(open);
    }
    Ok(PoolStats {
        active_sessions,
        utilization,
        peak_concurrent_sessions: peak,
        overflow_count: pool.overflow_count,
    })
}

/// The most pages a pool keeps; a page beyond them is not recorded (the busiest stay).
pub const MAX_PAGES: i64 = 1000;

/// A page the tracking script ran on, as a pool's detail lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSeen {
    pub url: String,
    pub views: i64,
    /// Page views after which the target number could still be read on the page.
    pub target_visible_views: i64,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_target_visible_at: Option<Timestamp>,
    /// The latest view still showed the target (the page is still missed).
    pub latest_view_showed_target: bool,
}

impl FromRecord for PageSeen {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(PageSeen {
            url: row.text("url")?,
            views: row.int("views")?,
            target_visible_views: row.int("target_visible_views")?,
            first_seen_at: row.time("first_seen_at")?,
            last_seen_at: row.time("last_seen_at")?,
            last_target_visible_at: row.opt_time("last_target_visible_at")?,
            latest_view_showed_target: row.boolean("latest_showed_target")?,
        })
    }
}

/// Counts a page view of `url` (origin and path) in the pool; `false` when the pool is
/// unknown or already keeps [`MAX_PAGES`] other pages.
pub async fn record_page(tx: &mut Tx, pool: NumberPoolId, url: &str, target_visible: bool) -> Result<bool> {
    let now = tx.now();
    let visible = i64::from(target_visible);
    let visible_at = target_visible.then_some(now);
    let update = Sql::new(
        "UPDATE dni_pages SET views = views + 1, target_visible_views = target_visible_views + $1,
         last_seen_at = $2, last_target_visible_at = COALESCE($3, last_target_visible_at), latest_showed_target = $4
         WHERE pool_id = $5 AND url = $6",
    )
    .bind(visible)
    .bind(now)
    .bind(visible_at)
    .bind(target_visible)
    .bind(pool)
    .bind(url);
    if tx.conn().execute(update).await? == 1 {
        return Ok(true);
    }
    // New here; a page view on another node may have just made the row (then it counts).
    let insert = Sql::new(format!(
        "INSERT INTO dni_pages (pool_id, url, views, target_visible_views, first_seen_at, last_seen_at, last_target_visible_at, latest_showed_target)
         SELECT $1, $2, 1, $3, $4, $4, $5, $6
         WHERE EXISTS (SELECT 1 FROM number_pools WHERE id = $1 AND deleted_at IS NULL)
           AND (SELECT count(*) FROM dni_pages WHERE pool_id = $1) < {MAX_PAGES}
         ON CONFLICT (pool_id, url) DO UPDATE SET views = dni_pages.views + 1,
           target_visible_views = dni_pages.target_visible_views + excluded.target_visible_views,
           last_seen_at = excluded.last_seen_at,
           last_target_visible_at = COALESCE(excluded.last_target_visible_at, dni_pages.last_target_visible_at),
           latest_showed_target = excluded.latest_showed_target"
    ))
    .bind(pool)
    .bind(url)
    .bind(visible)
    .bind(now)
    .bind(visible_at)
    .bind(target_visible);
    Ok(tx.conn().execute(insert).await? == 1)
}

/// The pool's pages, the most recently seen first (at most `limit`).
pub async fn pages(mut db: impl Connection, pool: NumberPoolId, limit: u32) -> Result<Vec<PageSeen>> {
    let select = Sql::new(format!(
        "SELECT url, views, target_visible_views, first_seen_at, last_seen_at, last_target_visible_at, latest_showed_target
         FROM dni_pages WHERE pool_id = $1 ORDER BY last_seen_at DESC, url LIMIT {limit}"
    ))
    .bind(pool);
    Ok(db.conn().fetch_all(select).await?)
}

/// What the script has reported of a pool's pages, for a list of pools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagesHealth {
    pub pool_id: NumberPoolId,
    pub pages: i64,
    /// Pages whose latest view still showed the target number.
    pub showing_target: i64,
}

impl FromRecord for PagesHealth {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(PagesHealth {
            pool_id: row.parsed("pool_id")?,
            pages: row.int("pages")?,
            showing_target: row.int("showing_target")?,
        })
    }
}

/// [`PagesHealth`] of each of the business's pools that has pages.
pub async fn pages_health(mut db: impl Connection, business_id: BusinessId) -> Result<Vec<PagesHealth>> {
    let select = Sql::new(
        "SELECT d.pool_id, count(*) AS pages,
                CAST(COALESCE(SUM(CASE WHEN d.latest_showed_target THEN 1 ELSE 0 END), 0) AS BIGINT) AS showing_target
         FROM dni_pages d JOIN number_pools p ON p.id = d.pool_id
         WHERE p.business_id = $1 AND p.deleted_at IS NULL
         GROUP BY d.pool_id",
    )
    .bind(business_id);
    Ok(db.conn().fetch_all(select).await?)
}
