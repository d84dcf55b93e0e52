//! `/api/v1/call-flows`: the steps a call runs through. Every change is a new immutable
//! version (calls in progress keep theirs); old versions can be listed and restored; a
//! flow can be dry-run for a hypothetical caller without storing anything.

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::engine::{self, CallFacts, Flow, Script, TraceEntry};
use ringtrack_domain::flow::{Settings, Step, parse_settings, parse_steps};
use ringtrack_domain::validation::parse_name;
use ringtrack_domain::{Access, CallFlowId, FieldError, FieldErrors, PhoneNumber};
use ringtrack_store::call_flows::{self, CallFlow, DeleteError, FlowVersion};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Created, Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ListParams, Paging, PathId, VersionNumber, parse_phone};

/// A call flow at its current version.
#[derive(Serialize, ToSchema)]
pub struct CallFlowView {
    #[schema(value_type = String, format = Uuid)]
    id: CallFlowId,
    #[schema(example = "Google Ads")]
    name: String,
    /// The steps, in order: greeting, forward, multi_ring, round_robin, menu, schedule,
    /// voicemail, geo_route, source_route, hangup.
    #[schema(value_type = Vec<Object>)]
    steps: Vec<Step>,
    #[schema(value_type = Object)]
    settings: Settings,
    version: i64,
    /// Numbers routed through this flow.
    assigned_numbers: i64,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<CallFlow> for CallFlowView {
    fn from(f: CallFlow) -> Self {
        CallFlowView {
            id: f.id,
            name: f.name,
            steps: f.steps,
            settings: f.settings,
            version: f.version,
            assigned_numbers: f.assigned_numbers,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// One flow, wrapped as the reference shows it: `{"data": {"call_flow": {...}}}`.
#[derive(Serialize, ToSchema)]
pub struct OneCallFlow {
    call_flow: CallFlowView,
}

impl From<CallFlow> for OneCallFlow {
    fn from(f: CallFlow) -> Self {
        OneCallFlow { call_flow: f.into() }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallFlowList {
    call_flows: Vec<CallFlowView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    version: i64,
    name: String,
    #[schema(value_type = Vec<Object>)]
    steps: Vec<Step>,
    #[schema(value_type = Object)]
    settings: Settings,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<FlowVersion> for VersionView {
    fn from(v: FlowVersion) -> Self {
        VersionView {
            version: v.version,
            name: v.name,
            steps: v.steps,
            settings: v.settings,
            created_at: v.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    versions: Vec<VersionView>,
    total: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Main Flow", "steps": [{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "+13055554567"}], "settings": {"recording": true, "whisper": true}}))]
pub struct WriteCallFlow {
    #[schema(example = "Google Ads")]
    name: String,
    /// `[{"type": "greeting", "message": "Thanks for calling"}, {"type": "forward", "number": "+15735554567"}]`
    #[schema(value_type = Vec<Object>)]
    steps: Value,
    /// `{"recording": true, "whisper": false, "whisper_message": null, "press1": false}`
    #[schema(value_type = Option<Object>)]
    settings: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "+13055551234", "digits": "1", "answer": true}))]
pub struct SimulateCall {
    /// The caller's number.
    #[schema(example = "+13055551234")]
    from: Option<String>,
    /// The keys pressed, one per menu, in order.
    #[schema(example = "1")]
    digits: Option<String>,
    /// Whether agents answer (default true).
    answer: Option<bool>,
    /// Whether the caller leaves a voicemail when asked (default true).
    leaves_voicemail: Option<bool>,
    /// When the call happens (default now): schedules depend on it.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<String>,
    caller_state: Option<String>,
    caller_zip: Option<String>,
    utm_source: Option<String>,
    referrer: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SimulationOutcome {
    /// answered, voicemail or missed.
    status: &'static str,
    destination_number: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Simulation {
    /// Each event and what the engine answered to it.
    #[schema(value_type = Vec<Object>)]
    trace: Vec<TraceEntry>,
    outcome: SimulationOutcome,
}

fn parse_flow(input: &WriteCallFlow) -> ApiResult<(String, Vec<Step>, Settings)> {
    let mut errors = FieldErrors::new();
    let name = errors.take(parse_name("name", &input.name, 100));
    let steps = errors.take_all(parse_steps(&input.steps));
    let settings = errors.take_all(parse_settings(input.settings.as_ref()));
    errors.finish(())?;
    Ok((name.expect("checked"), steps.expect("checked"), settings.expect("checked")))
}

#[utoipa::path(
    get, path = "/call-flows", tag = "Call flows", operation_id = "list_call_flows",
    params(ListParams),
    responses((status = 200, body = Data<CallFlowList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// List the business's call flows, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<CallFlowList>> {
    auth.require(Access::Read)?;
    let found = call_flows::list(&state.store, auth.business_id, &page).await?;
    let (call_flows, page) = PageInfo::split(found, &page, CallFlowView::from);
    Ok(Data::new(CallFlowList { call_flows, page }))
}

#[utoipa::path(
    post, path = "/call-flows", tag = "Call flows", operation_id = "create_call_flow",
    request_body = WriteCallFlow,
    responses(
        (status = 201, description = "Created at version 1", body = Data<OneCallFlow>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, description = "Each refusal names its path, e.g. steps[2].options.1[0].number", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Create a call flow.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<WriteCallFlow>,
) -> ApiResult<Created<OneCallFlow>> {
    auth.require(Access::Write)?;
    let (name, steps, settings) = parse_flow(&input)?;
    let mut tx = state.store.begin().await?;
    let flow = call_flows::create(&mut tx, auth.business_id, &name, &steps, &settings).await?;
    tx.commit().await?;
    Ok(Created(flow.into()))
}

#[utoipa::path(
    get, path = "/call-flows/{id}", tag = "Call flows", operation_id = "get_call_flow",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<OneCallFlow>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// A call flow with its full step configuration.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallFlowId>,
) -> ApiResult<Data<OneCallFlow>> {
    auth.require(Access::Read)?;
    let flow =
        call_flows::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call flow"))?;
    Ok(Data::new(flow.into()))
}

#[utoipa::path(
    put, path = "/call-flows/{id}", tag = "Call flows", operation_id = "update_call_flow",
    params(("id" = String, Path, format = Uuid)),
    request_body = WriteCallFlow,
    responses(
        (status = 200, description = "A new version, now current", body = Data<OneCallFlow>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Replace a call flow: this writes a new version; calls in progress keep theirs.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallFlowId>,
    ApiJson(input): ApiJson<WriteCallFlow>,
) -> ApiResult<Data<OneCallFlow>> {
    auth.require(Access::Write)?;
    let (name, steps, settings) = parse_flow(&input)?;
    let mut tx = state.store.begin().await?;
    let flow = call_flows::update(&mut tx, auth.business_id, id, &name, &steps, &settings)
        .await?
        .ok_or(ApiError::NotFound("Call flow"))?;
    tx.commit().await?;
    Ok(Data::new(flow.into()))
}

#[utoipa::path(
    delete, path = "/call-flows/{id}", tag = "Call flows", operation_id = "delete_call_flow",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "Deleted; its calls keep their history", body = Data<OneCallFlow>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Numbers still route through it", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Delete a call flow that no number uses.
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallFlowId>,
) -> ApiResult<Data<OneCallFlow>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let flow = match call_flows::delete(&mut tx, auth.business_id, id).await? {
        Ok(flow) => flow,
        Err(DeleteError::NotFound) => return Err(ApiError::NotFound("Call flow")),
        Err(DeleteError::InUse(n)) => {
            return Err(ApiError::Conflict(format!(
                "{n} number(s) route through this flow; assign them another first"
            )));
        }
    };
    tx.commit().await?;
    Ok(Data::new(flow.into()))
}

#[utoipa::path(
    get, path = "/call-flows/{id}/versions", tag = "Call flows", operation_id = "list_call_flow_versions",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<VersionList>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Every version of a flow, newest first.
pub async fn versions(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallFlowId>,
) -> ApiResult<Data<VersionList>> {
    auth.require(Access::Read)?;
    let versions = call_flows::versions(&state.store, auth.business_id, id)
        .await?
        .ok_or(ApiError::NotFound("Call flow"))?;
    let versions: Vec<VersionView> = versions.into_iter().map(VersionView::from).collect();
    Ok(Data::new(VersionList { total: versions.len(), versions }))
}

#[utoipa::path(
    post, path = "/call-flows/{id}/versions/{version}/restore", tag = "Call flows", operation_id = "restore_call_flow_version",
    params(("id" = String, Path, format = Uuid), ("version" = i64, Path)),
    responses(
        (status = 200, description = "A new version made from the old one", body = Data<OneCallFlow>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Make an old version current again (as a new version).
pub async fn restore(
    State(state): State<AppState>,
    auth: Auth,
    PathId((id, VersionNumber(version))): PathId<(CallFlowId, VersionNumber)>,
) -> ApiResult<Data<OneCallFlow>> {
    auth.require(Access::Write)?;
    let mut tx = state.store.begin().await?;
    let versions =
        call_flows::versions(&mut tx, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call flow"))?;
    let old =
        versions.into_iter().find(|v| v.version == version).ok_or(ApiError::NotFound("Call flow version"))?;
    let flow = call_flows::update(&mut tx, auth.business_id, id, &old.name, &old.steps, &old.settings)
        .await?
        .ok_or(ApiError::NotFound("Call flow"))?;
    tx.commit().await?;
    Ok(Data::new(flow.into()))
}

#[utoipa::path(
    post, path = "/call-flows/{id}/simulate", tag = "Call flows", operation_id = "simulate_call_flow",
    params(("id" = String, Path, format = Uuid)),
    request_body = SimulateCall,
    responses(
        (status = 200, description = "What would happen; nothing is stored", body = Data<Simulation>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Dry-run the flow for a hypothetical caller: the trace of what would happen.
pub async fn simulate(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallFlowId>,
    ApiJson(input): ApiJson<SimulateCall>,
) -> ApiResult<Data<Simulation>> {
    auth.require(Access::Read)?;
    let mut errors = FieldErrors::new();
    // The caller's number changes nothing a flow does today; a wrong one is still refused.
    if let Some(raw) = input.from.as_deref() {
        errors.take(parse_phone("from", raw));
    }
    let at = match input.at.as_deref() {
        Some(raw) => errors.take(
            raw.parse::<Timestamp>().map_err(|_| FieldError::new("at", "must be an RFC 3339 date-time")),
        ),
        None => Some(state.store.now()),
    };
    let digits = input.digits.unwrap_or_default();
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#') || digits.len() > 20 {
        errors.push("digits", "may hold only 0-9, * and #, at most 20");
    }
    errors.finish(())?;
    let flow =
        call_flows::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call flow"))?;
    let facts = CallFacts {
        tracking_number: PhoneNumber::parse("+12025550199").expect("valid"),
        tracking_name: flow.name.clone(),
        caller_state: input.caller_state,
        caller_zip: input.caller_zip,
        at: at.expect("checked"),
        utm_source: input.utm_source,
        referrer: input.referrer,
        rotation: 0,
    };
    let script = Script {
        digits,
        answer: input.answer.unwrap_or(true),
        leaves_voicemail: input.leaves_voicemail.unwrap_or(true),
    };
    let (end, trace) = engine::dry_run(&Flow { steps: flow.steps, settings: flow.settings }, &facts, &script);
    let outcome = SimulationOutcome {
        status: end.outcome().as_str(),
        destination_number: end.answered_by.map(|n| n.to_string()),
    };
    Ok(Data::new(Simulation { trace, outcome }))
}
