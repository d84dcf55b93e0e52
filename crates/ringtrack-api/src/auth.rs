//! `Authorization: Bearer cs_key_…`. The key is looked up by the SHA-256 of its secret;
//! any failure (missing, malformed, unknown, revoked) is the same 401 so a caller learns
//! nothing about which keys exist. The role is then checked per operation (403).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use ringtrack_domain::{Access, ApiKeyId, ApiKeySecret, BusinessId, Role};
use ringtrack_store::api_keys;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// `last_used_at` is written at most this often per key, not on every request.
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// The key a request was made with: its business scopes every query the request makes.
#[derive(Clone, Copy, Debug)]
pub struct Auth {
    pub key_id: ApiKeyId,
    pub business_id: BusinessId,
    pub role: Role,
}

impl Auth {
    /// Refuses with 403 unless the key's role allows `access`.
    pub fn require(&self, access: Access) -> ApiResult<()> {
        if self.role.allows(access) {
            return Ok(());
        }
        let needed = match access {
            Access::Read => "viewer",
            Access::Write => "manager",
            Access::ManageKeys => "admin",
        };
        Err(ApiError::Forbidden(format!(
            "This API key's role ({}) cannot do this; it needs the {needed} role",
            self.role
        )))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Auth> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Err(ApiError::MissingKey);
        }
        let secret = bearer_secret(parts).ok_or(ApiError::Unauthorized)?;
        let hash = secret.hash();
        let key = api_keys::find_active(&state.store, &hash).await?.ok_or(ApiError::Unauthorized)?;

        let now = state.store.now();
        let stale = key
            .last_used_at
            .is_none_or(|last| now.as_second() - last.as_second() >= LAST_USED_GRANULARITY_SECONDS);
        if stale {
            api_keys::note_use(&state.store, &hash, now);
            let recorded = record_use(state.store.clone(), key.id, now);
            if key.last_used_at.is_none() {
                // A key's first use, once in its life, is recorded before it is answered,
                // so the request that lists keys with it already shows it used.
                recorded.await;
            } else {
                // Off the request's path: a slow write must not slow the caller.
                tokio::spawn(recorded);
            }
        }
        tracing::Span::current().record("business_id", tracing::field::display(key.business_id));
        Ok(Auth { key_id: key.id, business_id: key.business_id, role: key.role })
    }
}

/// Notes that key `id` was used at `now`; a failure is logged, never the caller's.
async fn record_use(store: ringtrack_store::Store, id: ApiKeyId, now: jiff::Timestamp) {
    let recorded = async {
        let mut tx = store.begin().await?;
        api_keys::record_use(&mut tx, id, now, LAST_USED_GRANULARITY_SECONDS).await?;
        tx.commit().await
    };
    if let Err(error) = recorded.await {
        tracing::warn!(%error, key_id = %id, "could not record an API key's last use");
    }
}

fn bearer_secret(parts: &Parts) -> Option<ApiKeySecret> {
    bearer(&parts.headers)
}

/// The API key a request carries, if well formed.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<ApiKeySecret> {
    let header = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    ApiKeySecret::parse(token.trim()).ok()
}
