//! `/api/v1/api-keys`: list, create (the secret is shown once, in the creation answer)
//! and revoke. Admin keys only.

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{Access, ApiKeyId, ApiKeySecret, Role};
use ringtrack_store::api_keys::{self, ApiKey, CreateKeyError, MAX_ACTIVE_KEYS, RevokeError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Created, Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ListParams, Paging, PathId};

/// An API key as listed: never the secret, only its first 15 characters.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(value_type = String, format = Uuid)]
    id: ApiKeyId,
    #[schema(example = "My CRM Integration")]
    name: String,
    #[schema(value_type = String, example = "manager")]
    role: Role,
    #[schema(example = "cs_key_a1b2c3d4")]
    prefix: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    revoked_at: Option<Timestamp>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        ApiKeyView {
            id: key.id,
            name: key.name,
            role: key.role,
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The answer to a creation: the only time the full key is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[schema(value_type = String, format = Uuid)]
    id: ApiKeyId,
    name: String,
    /// The full key. Save it now: it cannot be retrieved later.
    #[schema(example = "cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6")]
    key: String,
    #[schema(example = "cs_key_a1b2c3d4")]
    prefix: String,
    #[schema(value_type = String, example = "manager")]
    role: Role,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "My CRM Integration", "role": "viewer"}))]
pub struct CreateApiKey {
    /// What the key is for, 1 to 100 characters.
    #[schema(example = "My CRM Integration")]
    name: String,
    /// viewer (read only), manager (read and write, not keys) or admin. Default manager.
    #[schema(value_type = Option<String>, pattern = "^(viewer|manager|admin)$", example = "manager")]
    role: Option<Role>,
}

#[utoipa::path(
    get, path = "/api-keys", tag = "API keys", operation_id = "list_api_keys",
    params(ListParams),
    responses(
        (status = 200, body = Data<ApiKeyList>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// List the business's API keys, newest first (prefix only; revoked keys included).
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<ApiKeyList>> {
    auth.require(Access::ManageKeys)?;
    let found = api_keys::list(&state.store, auth.business_id, &page).await?;
    let (api_keys, page) = PageInfo::split(found, &page, ApiKeyView::from);
    Ok(Data::new(ApiKeyList { api_keys, page }))
}

#[utoipa::path(
    post, path = "/api-keys", tag = "API keys", operation_id = "create_api_key",
    request_body = CreateApiKey,
    responses(
        (status = 201, body = Data<CreatedApiKey>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The business already has 10 active keys", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Create a key. The full key is in this answer only.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<CreateApiKey>,
) -> ApiResult<Created<CreatedApiKey>> {
    auth.require(Access::ManageKeys)?;
    let name = parse_name("name", &input.name, 100)?;
    let role = input.role.unwrap_or(Role::Manager);
    if !auth.role.may_grant(role) {
        return Err(ApiError::Forbidden(format!("A {} key cannot create a {role} key", auth.role)));
    }
    let secret = ApiKeySecret::generate(&mut rand::rng());
    let mut tx = state.store.begin().await?;
    let key = match api_keys::create(&mut tx, auth.business_id, &name, role, &secret).await? {
        Ok(key) => key,
        Err(CreateKeyError::LimitReached) => {
            return Err(ApiError::Conflict(format!(
                "This business already has {MAX_ACTIVE_KEYS} active API keys; revoke one first"
            )));
        }
        Err(CreateKeyError::NoSuchBusiness) => return Err(ApiError::Unauthorized),
    };
    tx.commit().await?;
    tracing::info!(key_id = %key.id, role = %role, "API key created");
    Ok(Created(CreatedApiKey {
        id: key.id,
        name: key.name,
        key: secret.expose().to_owned(),
        prefix: key.prefix,
        role: key.role,
        created_at: key.created_at,
    }))
}

#[utoipa::path(
    delete, path = "/api-keys/{id}", tag = "API keys", operation_id = "revoke_api_key",
    params(("id" = String, Path, format = Uuid, description = "The key's id")),
    responses(
        (status = 200, description = "The key, now revoked", body = Data<ApiKeyView>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "It is the business's last active admin key", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Revoke a key. It stops working on the next request.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<ApiKeyId>,
) -> ApiResult<Data<ApiKeyView>> {
    auth.require(Access::ManageKeys)?;
    let mut tx = state.store.begin().await?;
    let key = match api_keys::revoke(&mut tx, auth.business_id, id).await? {
        Ok(key) => key,
        Err(RevokeError::NotFound) => return Err(ApiError::NotFound("API key")),
        Err(RevokeError::LastAdmin) => {
            return Err(ApiError::Conflict(
                "This is the business's last active admin key; create another admin key first".into(),
            ));
        }
    };
    tx.commit().await?;
    tracing::info!(key_id = %key.id, "API key revoked");
    Ok(Data::new(key.into()))
}
