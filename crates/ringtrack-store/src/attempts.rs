//! Slots for attempts at something guessable (a password, a code, a link), per subject:
//! an attempt takes its slot in one statement before anything is checked, so attempts made
//! at once queue on the subject's row and cannot all slip past the limit. What a subject
//! allows (how many at once, how long after) is the core's rule; this keeps the count.

use jiff::{SignedDuration, Timestamp};

use crate::sql::Sql;
use crate::{Connection, Result, Tx};

/// Takes a slot for `subject` unless it must wait: answers the attempt's number in the
/// current run (1 for the first since `fresh_after`), or `Err(ready_at)` when no attempt
/// is allowed before then (no slot is taken). The caller sets the wait for the next one
/// with [`wait_after`].
pub async fn take(
    tx: &mut Tx,
    subject: &str,
    fresh_after: Timestamp,
) -> Result<std::result::Result<i64, Timestamp>> {
    let now = tx.now();
    let start = Sql::new(
        "INSERT INTO attempt_slots (subject, attempts, last_at, ready_at) VALUES ($1, 0, $2, $2)
         ON CONFLICT (subject) DO NOTHING",
    )
    .bind(subject)
    .bind(now);
    tx.conn().execute(start).await?;
    // One statement: on PostgreSQL a concurrent attempt waits on this row and then sees
    // the count this one left; on SQLite the one writer orders them.
    let taken = Sql::new(
        "UPDATE attempt_slots SET attempts = CASE WHEN last_at < $2 THEN 1 ELSE attempts + 1 END, last_at = $1
         WHERE subject = $3 AND (ready_at <= $1 OR last_at < $2) RETURNING attempts AS value",
    )
    .bind(now)
    .bind(fresh_after)
    .bind(subject);
    if let Some(attempts) = tx.conn().fetch_optional::<i64>(taken).await? {
        return Ok(Ok(attempts));
    }
    let ready = Sql::new("SELECT ready_at AS value FROM attempt_slots WHERE subject = $1").bind(subject);
    let ready_at = tx.conn().fetch_optional::<i64>(ready).await?.unwrap_or(now.as_second());
    Ok(Err(Timestamp::from_second(ready_at).unwrap_or(now)))
}

/// The latest time any of `subjects` must wait until (a read, without taking a slot): a
/// flood of attempts that must wait is answered from here, never queueing on the row
/// lock of one subject (which would hold a pooled connection each meanwhile).
pub async fn ready_at(mut db: impl Connection, subjects: &[&str]) -> Result<Option<Timestamp>> {
    if subjects.is_empty() {
        return Ok(None);
    }
    let marks: Vec<String> = (1..=subjects.len()).map(|n| format!("${n}")).collect();
    let mut select = Sql::new(format!(
        "SELECT max(ready_at) AS value FROM attempt_slots WHERE subject IN ({})",
        marks.join(", ")
    ));
    for subject in subjects {
        select = select.bind(*subject);
    }
    let latest = db.conn().fetch_all_with(select, |row| row.opt_int("value")).await?;
    Ok(latest.into_iter().flatten().next().and_then(|seconds| Timestamp::from_second(seconds).ok()))
}

/// After a slot was taken: no further attempt for `subject` until `wait` has passed.
pub async fn wait_after(tx: &mut Tx, subject: &str, wait: SignedDuration) -> Result<()> {
    let ready_at = tx.now() + wait;
    let update =
        Sql::new("UPDATE attempt_slots SET ready_at = $1 WHERE subject = $2").bind(ready_at).bind(subject);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Gives back one attempt of `subject` (it was a success, not a guess).
pub async fn give_back(tx: &mut Tx, subject: &str) -> Result<()> {
    let update = Sql::new(
        "UPDATE attempt_slots SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE subject = $1",
    )
    .bind(subject);
    tx.conn().execute(update).await?;
    Ok(())
}

/// Forgets `subject`'s attempts (the person proved who they are).
pub async fn forget(tx: &mut Tx, subject: &str) -> Result<()> {
    tx.conn().execute(Sql::new("DELETE FROM attempt_slots WHERE subject = $1").bind(subject)).await?;
    Ok(())
}

/// Forgets every subject whose last attempt was before `before` and that need not wait
/// any more: the table stays as small as the window (a timed pass).
pub async fn purge(tx: &mut Tx, before: Timestamp) -> Result<u64> {
    let delete = Sql::new("DELETE FROM attempt_slots WHERE last_at < $1 AND ready_at < $2")
        .bind(before)
        .bind(tx.now());
    Ok(tx.conn().execute(delete).await?)
}
