//! The durable job queue. A job is written in the transaction of the change that causes
//! it, so it exists exactly when that change does. Workers claim due jobs with a lease:
//! on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several nodes claim side by side without
//! ever taking the same job; on SQLite the single writer makes each claim exclusive. A
//! worker renews its lease while it works; a job whose lease ran out (its worker died) is
//! due again. Finishing checks the lease is still ours, in the transaction of the job's
//! effects, so a worker that lost its lease cannot commit a second result.

use std::time::Duration;

use ringtrack_domain::jobs::{Job, RetryPolicy};
use uuid::Uuid;

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Backend, Connection, Result, Store, Tx};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// A claimed job: what to do, and the lease that lets this worker do it.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: Uuid,
    /// The stored payload, or why this binary cannot read it (a kind from a newer version).
    pub job: Result<Job, String>,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub owner: String,
}

impl FromRecord for Claimed {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Claimed {
            id: row.parsed("id")?,
            job: Job::from_json(&row.text("payload")?).map_err(|e| e.to_string()),
            attempt: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
            owner: row.text("lease_owner")?,
        })
    }
}

/// A job as an operator (or a test) sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl FromRecord for JobRow {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(JobRow {
            id: row.parsed("id")?,
            kind: row.text("kind")?,
            payload: row.text("payload")?,
            state: row.text("state")?,
            attempts: row.int("attempts")?,
            last_error: row.opt_text("last_error")?,
        })
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Queues `job` to run now, unless a job with the same dedupe key exists. Answers whether
/// it was queued.
pub async fn enqueue(tx: &mut Tx, job: &Job) -> Result<bool> {
    enqueue_at(tx, job, Duration::ZERO).await
}

/// Queues `job` to run after `delay`.
pub async fn enqueue_at(tx: &mut Tx, job: &Job, delay: Duration) -> Result<bool> {
    let now = now_ms();
    let run_at = now + millis(delay);
    let insert = Sql::new(
        "INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $7) ON CONFLICT DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(job.kind())
    .bind(job.to_json())
    .bind(job.dedupe_key())
    .bind(QUEUED)
    .bind(run_at)
    .bind(now);
    Ok(tx.conn().execute(insert).await? == 1)
}

/// Claims up to `limit` due jobs for `owner`, leased for `lease`.
pub async fn claim(store: &Store, owner: &str, lease: Duration, limit: u32) -> Result<Vec<Claimed>> {
    let now = now_ms();
    // SKIP LOCKED: a job another node is claiming is passed over, not waited for.
    let lock = if store.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let claim = Sql::new(format!(
        "UPDATE jobs SET state = $1, lease_owner = $2, lease_until = $3, attempts = attempts + 1, updated_at = $4
         WHERE id IN (SELECT id FROM jobs
                      WHERE (state = $5 AND run_at <= $4) OR (state = $1 AND lease_until <= $4)
                      ORDER BY run_at LIMIT $6{lock})
         RETURNING id, payload, attempts, lease_owner"
    ))
    .bind(RUNNING)
    .bind(owner)
    .bind(now + millis(lease))
    .bind(now)
    .bind(QUEUED)
    .bind(i64::from(limit));
    let mut tx = store.begin().await?;
    let claimed = tx.conn().fetch_all(claim).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Extends a lease this worker still holds; answers false when it was lost.
pub async fn renew(store: &Store, job: &Claimed, lease: Duration) -> Result<bool> {
    let now = now_ms();
    let update = Sql::new(
        "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = $5",
    )
    .bind(now + millis(lease))
    .bind(now)
    .bind(job.id)
    .bind(job.owner.as_str())
    .bind(RUNNING);
    let mut tx = store.begin().await?;
    let renewed = tx.conn().execute(update).await? == 1;
    tx.commit().await?;
    Ok(renewed)
}

/// Marks the job done in `tx`, the transaction holding its effects. Answers false when
/// the lease was lost to another worker: the caller must then roll back.
pub async fn complete(tx: &mut Tx, job: &Claimed) -> Result<bool> {
    let update = Sql::new(
        "UPDATE jobs SET state = $1, lease_owner = NULL, lease_until = NULL, last_error = NULL, updated_at = $2
         WHERE id = $3 AND lease_owner = $4 AND state = $5",
    )
    .bind(DONE)
    .bind(now_ms())
    .bind(job.id)
    .bind(job.owner.as_str())
    .bind(RUNNING);
    Ok(tx.conn().execute(update).await? == 1)
}

/// Gives a claimed job back untried (its worker is stopping): due again at once, the
/// attempt not counted.
pub async fn release(store: &Store, job: &Claimed) -> Result<()> {
    let now = now_ms();
    let update = Sql::new(
        "UPDATE jobs SET state = $1, run_at = $2, attempts = attempts - 1, lease_owner = NULL, lease_until = NULL,
            updated_at = $2
         WHERE id = $3 AND lease_owner = $4 AND state = $5",
    )
    .bind(QUEUED)
    .bind(now)
    .bind(job.id)
    .bind(job.owner.as_str())
    .bind(RUNNING);
    let mut tx = store.begin().await?;
    tx.conn().execute(update).await?;
    tx.commit().await
}

/// What became of a job that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    Failed,
    /// The lease had been lost: another worker has the job now.
    LeaseLost,
}

/// Records a failed attempt: queued again after the policy's backoff, or `failed` with
/// `error` kept once the attempts are spent.
pub async fn fail(store: &Store, job: &Claimed, error: &str, policy: &RetryPolicy) -> Result<AfterFailure> {
    let now = now_ms();
    let next = policy.next_delay(job.attempt);
    let (state, run_at) = match next {
        Some(delay) => (QUEUED, now + millis(delay)),
        None => (FAILED, now),
    };
    let update = Sql::new(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_owner = NULL, lease_until = NULL,
            updated_at = $4
         WHERE id = $5 AND lease_owner = $6 AND state = $7",
    )
    .bind(state)
    .bind(run_at)
    .bind(truncate(error, 2000))
    .bind(now)
    .bind(job.id)
    .bind(job.owner.as_str())
    .bind(RUNNING);
    let mut tx = store.begin().await?;
    let updated = tx.conn().execute(update).await? == 1;
    tx.commit().await?;
    Ok(match (updated, next) {
        (false, _) => AfterFailure::LeaseLost,
        (true, Some(delay)) => AfterFailure::RetryIn(delay),
        (true, None) => AfterFailure::Failed,
    })
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Forgets finished jobs older than `age` (failed ones stay for an operator to see).
pub async fn prune(store: &Store, age: Duration) -> Result<u64> {
    let delete = Sql::new("DELETE FROM jobs WHERE state = $1 AND updated_at < $2")
        .bind(DONE)
        .bind(now_ms() - millis(age));
    let mut tx = store.begin().await?;
    let deleted = tx.conn().execute(delete).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// Every job, oldest first (tests and operators).
pub async fn all(mut db: impl Connection) -> Result<Vec<JobRow>> {
    let select =
        Sql::new("SELECT id, kind, payload, state, attempts, last_error FROM jobs ORDER BY created_at, id");
    Ok(db.conn().fetch_all(select).await?)
}

/// How many jobs are queued or running: the queue's backlog.
pub async fn pending(mut db: impl Connection) -> Result<i64> {
    let select =
        Sql::new("SELECT count(*) AS value FROM jobs WHERE state IN ($1, $2)").bind(QUEUED).bind(RUNNING);
    Ok(db.conn().fetch_one(select).await?)
}

/// What `/metrics` reports of the store: calls by status, jobs by state, queue lag.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub calls_by_status: Vec<(String, i64)>,
    pub jobs_by_state: Vec<(String, i64)>,
    /// How long the oldest due job has waited to be claimed.
    pub queue_lag: Duration,
}

struct Tally(String, i64);

impl FromRecord for Tally {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(Tally(row.text("label")?, row.int("value")?))
    }
}

pub async fn figures(mut db: impl Connection) -> Result<Figures> {
    let calls = Sql::new(
        "SELECT status AS label, sum(calls) AS value FROM call_totals GROUP BY status ORDER BY status",
    );
    let calls_by_status =
        db.conn().fetch_all::<Tally>(calls).await?.into_iter().map(|t| (t.0, t.1)).collect();
    let jobs = Sql::new("SELECT state AS label, count(*) AS value FROM jobs GROUP BY state ORDER BY state");
    let jobs_by_state = db.conn().fetch_all::<Tally>(jobs).await?.into_iter().map(|t| (t.0, t.1)).collect();
    let now = now_ms();
    let oldest = Sql::new("SELECT min(run_at) AS value FROM jobs WHERE state = $1 AND run_at <= $2")
        .bind(QUEUED)
        .bind(now);
    let oldest: Option<Option<i64>> = db.conn().fetch_optional::<OptionalInt>(oldest).await?.map(|o| o.0);
    let queue_lag = oldest
        .flatten()
        .map_or(Duration::ZERO, |at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0)));
    Ok(Figures { calls_by_status, jobs_by_state, queue_lag })
}

struct OptionalInt(Option<i64>);

impl FromRecord for OptionalInt {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        row.opt_int("value").map(OptionalInt)
    }
}
