//! Idempotency keys for requests that spend money: the first answer is kept, in the same
//! transaction as what it did, and replayed for a repeat of the same key and request.

use ringtrack_domain::BusinessId;

use crate::conn::{FromRecord, Record, Sql};
use crate::{Connection, Result, Tx};

/// The answer given the first time a key was used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// A hash of the request (method, path, body) the key was first used for.
    pub request_hash: String,
    pub status_code: u16,
    pub body: String,
}

impl FromRecord for StoredResponse {
    fn from_record(row: &dyn Record) -> sqlx::Result<Self> {
        Ok(StoredResponse {
            request_hash: row.text("request_hash")?,
            status_code: u16::try_from(row.int("status_code")?).unwrap_or(500),
            body: row.text("response_body")?,
        })
    }
}

/// The stored answer for `key`. Call it after locking the business, so that a concurrent
/// repeat waits for the first request to finish.
pub async fn find(tx: &mut Tx, business_id: BusinessId, key: &str) -> Result<Option<StoredResponse>> {
    let select = Sql::new(
        "SELECT request_hash, status_code, response_body FROM idempotency_keys
         WHERE business_id = $1 AND idempotency_key = $2",
    )
    .bind(business_id)
    .bind(key);
    Ok(tx.conn().fetch_optional(select).await?)
}

pub async fn save(tx: &mut Tx, business_id: BusinessId, key: &str, response: &StoredResponse) -> Result<()> {
    let insert = Sql::new(
        "INSERT INTO idempotency_keys (business_id, idempotency_key, request_hash, status_code, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(business_id)
    .bind(key)
    .bind(response.request_hash.as_str())
    .bind(i64::from(response.status_code))
    .bind(response.body.as_str())
    .bind(crate::now());
    tx.conn().execute(insert).await?;
    Ok(())
}
