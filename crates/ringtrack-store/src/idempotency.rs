//! Idempotency keys for requests that spend money: the first answer is kept, in the same
//! transaction as what it did, and replayed for a repeat of the same key and request. A
//! request that calls the carrier between two transactions first *claims* its key (a row
//! with no answer yet), so a repeat made meanwhile is told it is in progress.

use ringtrack_domain::BusinessId;

use crate::record::{FromRecord, Record};
use crate::sql::Sql;
use crate::{Connection, Result, Tx};

/// The status code a claimed key's row holds until its answer is saved.
pub const IN_PROGRESS: u16 = 0;

/// The answer given the first time a key was used ([`IN_PROGRESS`]: not given yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// A hash of the request (method, path, body) the key was first used for.
    pub request_hash: String,
    pub status_code: u16,
    pub body: String,
    /// When the key was first used (unix seconds).
    pub claimed_at: i64,
}

impl FromRecord for StoredResponse {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(StoredResponse {
            request_hash: row.text("request_hash")?,
            status_code: u16::try_from(row.int("status_code")?).unwrap_or(500),
            body: row.text("response_body")?,
            claimed_at: row.int("created_at")?,
        })
    }
}

/// The stored answer for `key`. Call it after locking the business, so that a concurrent
/// repeat waits for the first request to finish.
pub async fn find(tx: &mut Tx, business_id: BusinessId, key: &str) -> Result<Option<StoredResponse>> {
    let select = Sql::new(
        "SELECT request_hash, status_code, response_body, created_at FROM idempotency_keys
         WHERE business_id = $1 AND idempotency_key = $2",
    )
    .bind(business_id)
    .bind(key);
    Ok(tx.conn().fetch_optional(select).await?)
}

/// Saves the answer given under `key` (over its claim, if it was claimed).
pub async fn save(
    tx: &mut Tx,
    business_id: BusinessId,
    key: &str,
    request_hash: &str,
    status_code: u16,
    body: &str,
) -> Result<()> {
    let upsert = Sql::new(
        "INSERT INTO idempotency_keys (business_id, idempotency_key, request_hash, status_code, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (business_id, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash,
            status_code = excluded.status_code, response_body = excluded.response_body",
    )
    .bind(business_id)
    .bind(key)
    .bind(request_hash)
    .bind(i64::from(status_code))
    .bind(body)
    .bind(tx.now());
    tx.conn().execute(upsert).await?;
    Ok(())
}

/// Claims `key` for a request under way (taking over a claim left by one that died).
pub async fn claim(tx: &mut Tx, business_id: BusinessId, key: &str, request_hash: &str) -> Result<()> {
    let upsert = Sql::new(
        "INSERT INTO idempotency_keys (business_id, idempotency_key, request_hash, status_code, response_body, created_at)
         VALUES ($1, $2, $3, 0, '', $4)
         ON CONFLICT (business_id, idempotency_key) DO UPDATE SET created_at = excluded.created_at
         WHERE idempotency_keys.status_code = 0",
    )
    .bind(business_id)
    .bind(key)
    .bind(request_hash)
    .bind(tx.now());
    tx.conn().execute(upsert).await?;
    Ok(())
}

/// Gives up a claim whose request failed, so that the key can be used again.
pub async fn release(tx: &mut Tx, business_id: BusinessId, key: &str) -> Result<()> {
    let delete = Sql::new(
        "DELETE FROM idempotency_keys WHERE business_id = $1 AND idempotency_key = $2 AND status_code = 0",
    )
    .bind(business_id)
    .bind(key);
    tx.conn().execute(delete).await?;
    Ok(())
}
