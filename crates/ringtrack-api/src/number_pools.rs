//! `/api/v1/number-pools`: pools of tracking numbers the website script shows to visitors
//! in place of a target number, each visit leasing its own number so that the call it
//! makes is tied to the visit (dynamic number insertion). A number is in at most one pool;
//! pool numbers route through the pool's call flow.

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::dni::{self, DEFAULT_SESSION_TIMEOUT_SECONDS, SESSION_TIMEOUT_RANGE, VisitorFilter};
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{Access, CallFlowId, FieldError, FieldErrors, NumberId, NumberPoolId};
use ringtrack_store::pools::{self, Pool, PoolError, PoolSettings};
use ringtrack_store::{Tx, call_flows};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Created, Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody, invalid_numbers};
use crate::extract::{ApiJson, ListParams, Paging, PathId, parse_id, parse_phone};

#[derive(Serialize, ToSchema)]
pub struct PoolStatsView {
    /// Visits holding a number now.
    active_sessions: i64,
    /// The share of the pool's number-time leased over the last hour, 0 to 1.
    utilization: f64,
    /// The most visits at once over the last day, overflow included.
    peak_concurrent_sessions: i64,
    /// Numbers the pool needs for that peak, with a fifth more for headroom.
    recommended_pool_size: i64,
    /// Visits shown the target number because every pool number was in use.
    overflow_count: i64,
}

/// A page the tracking script ran on (origin and path).
#[derive(Serialize, ToSchema)]
pub struct PageView {
    url: String,
    views: i64,
    /// Page views after which the target number could still be read on the page: the
    /// script missed how the page writes it there.
    target_visible_views: i64,
    #[schema(value_type = String, format = DateTime)]
    first_seen_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    last_seen_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    last_target_visible_at: Option<Timestamp>,
    /// The page's latest view still showed the target: the page is still missed.
    latest_view_showed_target: bool,
}

/// Pages a pool's detail lists.
const PAGES_LISTED: u32 = 100;

#[derive(Serialize, ToSchema)]
pub struct PoolView {
    #[schema(value_type = String, format = Uuid)]
    id: NumberPoolId,
    name: String,
    #[schema(value_type = Vec<String>)]
    number_ids: Vec<NumberId>,
    numbers_count: usize,
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<CallFlowId>,
    /// The number the website shows, which the script replaces.
    #[schema(example = "+15735550100")]
    target_number: String,
    session_timeout_seconds: i64,
    /// all, or paid (only visitors from paid clicks get a pool number).
    visitor_filter: String,
    /// The HTML to paste into the website, before `</body>`.
    snippet: String,
    stats: PoolStatsView,
    /// In a pool's own detail: the pages the script has run on, the most recently seen
    /// first (at most 100), and whether the target still showed after the swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<Vec<PageView>>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct PoolBody {
    number_pool: PoolView,
}

#[derive(Serialize, ToSchema)]
pub struct PoolList {
    number_pools: Vec<PoolView>,
    #[serde(flatten)]
    page: PageInfo,
}

async fn view(state: &AppState, pool: Pool) -> ApiResult<PoolView> {
    let stats = pools::stats(&state.store, &pool, state.store.now()).await?;
    Ok(PoolView {
        snippet: dni::script_tag(&state.public_url, pool.id),
        id: pool.id,
        name: pool.name,
        numbers_count: pool.number_ids.len(),
        number_ids: pool.number_ids,
        call_flow_id: pool.call_flow_id,
        target_number: pool.target_number.to_string(),
        session_timeout_seconds: pool.session_timeout_seconds,
        visitor_filter: pool.visitor_filter.as_str().into(),
        stats: PoolStatsView {
            active_sessions: stats.active_sessions,
            utilization: (stats.utilization * 1000.0).round() / 1000.0,
            peak_concurrent_sessions: stats.peak_concurrent_sessions,
            recommended_pool_size: dni::recommended_pool_size(stats.peak_concurrent_sessions),
            overflow_count: stats.overflow_count,
        },
        pages: None,
        created_at: pool.created_at,
        updated_at: pool.updated_at,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Website visitors", "number_ids": ["01a2442f-f349-72f6-809c-d3ae7600f393"], "target_number": "(573) 555-0100", "session_timeout_seconds": 1800, "visitor_filter": "all"}))]
pub struct PoolInput {
    #[schema(example = "Website visitors")]
    name: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    number_ids: Option<Vec<String>>,
    /// The flow every pool number routes through (null: the numbers keep theirs).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<Option<String>>,
    #[schema(example = "(573) 555-0100")]
    target_number: Option<String>,
    /// How long a visit keeps its number after its last sign of life (60 to 86400, default 1800).
    session_timeout_seconds: Option<i64>,
    /// all (default) or paid.
    visitor_filter: Option<String>,
}

/// The settings `input` asks for, over `current` (a create starts from nothing).
async fn settings(
    tx: &mut Tx,
    auth: &Auth,
    input: PoolInput,
    current: Option<&Pool>,
) -> ApiResult<PoolSettings> {
    let mut errors = FieldErrors::new();
    let name = match (input.name.as_deref(), current) {
        (Some(raw), _) => errors.take(parse_name("name", raw, 100)),
        (None, Some(pool)) => Some(pool.name.clone()),
        (None, None) => errors.take(Err(FieldError::new("name", "is required"))),
    };
    let target_number = match (input.target_number.as_deref(), current) {
        (Some(raw), _) => errors.take(parse_phone("target_number", raw)),
        (None, Some(pool)) => Some(pool.target_number.clone()),
        (None, None) => errors.take(Err(FieldError::new("target_number", "is required"))),
    };
    let session_timeout_seconds = input
        .session_timeout_seconds
        .or(current.map(|p| p.session_timeout_seconds))
        .unwrap_or(DEFAULT_SESSION_TIMEOUT_SECONDS);
    if !SESSION_TIMEOUT_RANGE.contains(&session_timeout_seconds) {
        errors.push("session_timeout_seconds", "must be from 60 to 86400");
    }
    let visitor_filter = match input.visitor_filter.as_deref() {
        Some(raw) => errors.take(
            VisitorFilter::parse(raw).ok_or_else(|| FieldError::new("visitor_filter", "must be all or paid")),
        ),
        None => Some(current.map_or(VisitorFilter::All, |p| p.visitor_filter)),
    };
    let call_flow_id = match input.call_flow_id {
        Some(raw) => errors.take(parse_id::<CallFlowId>("call_flow_id", raw.as_deref())).flatten(),
        None => current.and_then(|p| p.call_flow_id),
    };
    let number_ids = match input.number_ids {
        Some(raw) => {
            if raw.len() > 1000 {
                errors.push("number_ids", "may hold at most 1000 numbers");
            }
            let mut ids = Vec::new();
            for (i, id) in raw.iter().enumerate() {
                if let Some(Some(id)) =
                    errors.take(parse_id::<NumberId>(&format!("number_ids[{i}]"), Some(id)))
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            ids
        }
        None => current.map(|p| p.number_ids.clone()).unwrap_or_default(),
    };
    errors.finish(())?;
    if let Some(flow) = call_flow_id
        && !call_flows::exists(&mut *tx, auth.business_id, flow).await?
    {
        return Err(ApiError::field("call_flow_id", "is not a call flow of this business"));
    }
    Ok(PoolSettings {
        name: name.expect("checked"),
        call_flow_id,
        target_number: target_number.expect("checked"),
        session_timeout_seconds,
        visitor_filter: visitor_filter.expect("checked"),
        number_ids,
    })
}

fn pool_error(error: PoolError) -> ApiError {
    match error {
        PoolError::NotFound => ApiError::NotFound("Number pool"),
        PoolError::InvalidNumbers(invalid) => invalid_numbers(invalid),
    }
}

#[utoipa::path(
    get, path = "/number-pools", tag = "Number pools", operation_id = "list_number_pools",
    params(ListParams),
    responses((status = 200, body = Data<PoolList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The business's number pools, newest first, with their live stats.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<PoolList>> {
    auth.require(Access::Read)?;
    let found = pools::list(&state.store, auth.business_id, &page).await?;
    let mut views = Vec::with_capacity(found.items.len());
    let (pools, page) = PageInfo::split(found, &page, |p| p);
    for pool in pools {
        views.push(view(&state, pool).await?);
    }
    Ok(Data::new(PoolList { number_pools: views, page }))
}

#[utoipa::path(
    post, path = "/number-pools", tag = "Number pools", operation_id = "create_number_pool",
    request_body = PoolInput,
    responses(
        (status = 201, body = Data<PoolBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Create a pool: name, target_number and number_ids; the snippet to paste comes back.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<PoolInput>,
) -> ApiResult<Created<PoolBody>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let settings = settings(&mut tx, &auth, input, None).await?;
    let pool = pools::create(&mut tx, auth.business_id, &settings).await?.map_err(pool_error)?;
    tx.commit().await?;
    Ok(Created(PoolBody { number_pool: view(&state, pool).await? }))
}

#[utoipa::path(
    get, path = "/number-pools/{id}", tag = "Number pools", operation_id = "get_number_pool",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<PoolBody>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One pool with its live stats.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberPoolId>,
) -> ApiResult<Data<PoolBody>> {
    auth.require(Access::Read)?;
    let pool =
        pools::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number pool"))?;
    let pages = pools::pages(&state.store, pool.id, PAGES_LISTED).await?;
    let mut number_pool = view(&state, pool).await?;
    number_pool.pages = Some(
        pages
            .into_iter()
            .map(|p| PageView {
                url: p.url,
                views: p.views,
                target_visible_views: p.target_visible_views,
                first_seen_at: p.first_seen_at,
                last_seen_at: p.last_seen_at,
                last_target_visible_at: p.last_target_visible_at,
                latest_view_showed_target: p.latest_view_showed_target,
            })
            .collect(),
    );
    Ok(Data::new(PoolBody { number_pool }))
}

#[utoipa::path(
    put, path = "/number-pools/{id}", tag = "Number pools", operation_id = "update_number_pool",
    params(("id" = String, Path, format = Uuid)),
    request_body = PoolInput,
    responses(
        (status = 200, body = Data<PoolBody>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Change a pool; fields left out keep their value, `number_ids` replaces the members.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberPoolId>,
    ApiJson(input): ApiJson<PoolInput>,
) -> ApiResult<Data<PoolBody>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let current =
        pools::get(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number pool"))?;
    let settings = settings(&mut tx, &auth, input, Some(&current)).await?;
    let pool = pools::update(&mut tx, auth.business_id, id, &settings).await?.map_err(pool_error)?;
    tx.commit().await?;
    Ok(Data::new(PoolBody { number_pool: view(&state, pool).await? }))
}

#[utoipa::path(
    delete, path = "/number-pools/{id}", tag = "Number pools", operation_id = "delete_number_pool",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Deleted; its numbers left it", body = Data<PoolBody>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Delete a pool. Its numbers leave it (keeping their call flow); calls from its past
/// visits stay attributed.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<NumberPoolId>,
) -> ApiResult<Data<PoolBody>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let pool = pools::get(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Number pool"))?;
    pools::delete(&mut tx, auth.business_id, id).await?;
    tx.commit().await?;
    Ok(Data::new(PoolBody { number_pool: view(&state, pool).await? }))
}
