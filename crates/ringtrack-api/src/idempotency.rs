//! `Idempotency-Key` on requests that spend money: a repeat with the same key and request
//! answers the first response again and spends nothing more; the same key with another
//! request is refused. The first response is saved in the transaction that spent.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ringtrack_domain::BusinessId;
use ringtrack_store::Tx;
use ringtrack_store::idempotency::{self, StoredResponse};
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
        let stored = StoredResponse { request_hash: hash, status_code: status.as_u16(), body: body.clone() };
        idempotency::save(tx, business, key, &stored).await?;
    }
    Ok(json_response(status, body))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
