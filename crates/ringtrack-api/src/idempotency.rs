//! `Idempotency-Key` on requests that spend money: a repeat with the same key and request
//! answers the first response again and spends nothing more; the same key with another
//! request is refused. The first response is saved in the transaction that spent. A
//! request that calls the carrier outside its transactions claims its key first: a repeat
//! made meanwhile is answered 409 until the first finishes (or dies: a claim older than
//! [`CLAIM_LIFETIME`] is taken over).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_domain::BusinessId;
use ringtrack_store::Tx;
use ringtrack_store::idempotency;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::envelope::Data;
use crate::error::{ApiError, ApiResult};

const HEADER: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if it sent one.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
        match key {
            Some(key) => Ok(IdempotencyKey(Some(key.to_owned()))),
            None => Err(ApiError::field("Idempotency-Key", "must be 1 to 255 visible ASCII characters")),
        }
    }
}

/// Identifies a request by what it asks for: the operation and its parsed body.
pub fn request_hash(operation: &str, body: &impl Serialize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(body).unwrap_or_default());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The first answer to this key, when the request repeats one. Call it with the business
/// locked, so that a concurrent repeat waits for the first to finish.
pub async fn replay(
    tx: &mut Tx,
    business: BusinessId,
    key: &IdempotencyKey,
    hash: &str,
) -> ApiResult<Option<Response>> {
    let Some(key) = &key.0 else { return Ok(None) };
    let Some(stored) = idempotency::find(tx, business, key).await? else {
        return Ok(None);
    };
    if stored.request_hash != hash {
        return Err(ApiError::field("Idempotency-Key", "was already used for a different request"));
    }
    if stored.status_code == idempotency::IN_PROGRESS {
        let age = tx.now().as_second() - stored.claimed_at;
        if age < CLAIM_LIFETIME.as_secs() as i64 {
            return Err(ApiError::Conflict(
                "A request with this Idempotency-Key is still in progress; repeat it in a moment".into(),
            ));
        }
        return Ok(None);
    }
    let mut response =
        json_response(StatusCode::from_u16(stored.status_code).unwrap_or(StatusCode::OK), stored.body);
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}

/// Answers `data` with `status`, saving the answer under the key (if any) in `tx`.
pub async fn respond<T: Serialize>(
    tx: &mut Tx,
    business: BusinessId,
    key: &IdempotencyKey,
    hash: String,
    status: StatusCode,
    data: T,
) -> ApiResult<Response> {
    let body = serde_json::to_string(&Data::new(data)).map_err(ApiError::internal)?;
    if let Some(key) = &key.0 {
        idempotency::save(tx, business, key, &hash, status.as_u16(), &body).await?;
    }
    Ok(json_response(status, body))
}

/// How long a claim holds off repeats: longer than any carrier call takes.
pub const CLAIM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(120);

/// Claims the key (if any) for a request that goes on outside this transaction.
pub async fn claim(tx: &mut Tx, business: BusinessId, key: &IdempotencyKey, hash: &str) -> ApiResult<()> {
    if let Some(key) = &key.0 {
        idempotency::claim(tx, business, key, hash).await?;
    }
    Ok(())
}

/// Gives the key (if any) back after the request failed, so that it can be repeated.
pub async fn release(store: &ringtrack_store::Store, business: BusinessId, key: &IdempotencyKey) {
    let Some(key) = &key.0 else { return };
    let released = async {
        let mut tx = store.begin().await?;
        idempotency::release(&mut tx, business, key).await?;
        tx.commit().await
    };
    if let Err(error) = released.await {
        tracing::error!(%error, "could not give back an idempotency key; repeats wait for its claim to lapse");
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
