//! `/api/v1/calls`: the call log. Here the list and one call, with every field of API.md
//! that the call path fills; filters, export and statistics grow on this.

use axum::extract::State;
use jiff::Timestamp;
use ringtrack_domain::Access;
use ringtrack_store::calls::{self, Call};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ListParams, Paging};

#[derive(Serialize, ToSchema)]
pub struct CallView {
    #[schema(format = Uuid)]
    id: Uuid,
    #[schema(example = "+13055551234")]
    caller_number: String,
    #[schema(example = "+15735559876")]
    tracking_number: Option<String>,
    /// The agent who answered.
    #[schema(example = "+13055554567")]
    destination_number: Option<String>,
    #[schema(example = "Google Ads")]
    call_flow_name: Option<String>,
    /// answered, missed or voicemail (in_progress until the call ends).
    #[schema(example = "answered")]
    status: String,
    duration_seconds: i64,
    qualified: bool,
    /// The lead score, once the call is scored.
    ai_score: Option<i64>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    gclid: Option<String>,
    landing_page: Option<String>,
    has_transcription: bool,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = Option<String>, format = Uuid)]
    number_id: Option<ringtrack_domain::NumberId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    call_flow_id: Option<ringtrack_domain::CallFlowId>,
    call_flow_version: Option<i64>,
    direction: String,
    caller_city: Option<String>,
    caller_state: Option<String>,
    caller_zip: Option<String>,
    first_time_caller: bool,
    referrer: Option<String>,
    session_id: Option<String>,
    has_recording: bool,
    ai_category: Option<String>,
    ai_reasons: Vec<String>,
    cost_cents: i64,
    notes: Option<String>,
    tags: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    answered_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    ended_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<Call> for CallView {
    fn from(c: Call) -> Self {
        CallView {
            id: c.id,
            caller_number: c.caller_number,
            tracking_number: c.tracking_number,
            destination_number: c.destination_number,
            call_flow_name: c.call_flow_name,
            status: c.status,
            duration_seconds: c.duration_seconds,
            qualified: c.qualified,
            ai_score: None,
            utm_source: c.utm_source,
            utm_medium: c.utm_medium,
            utm_campaign: c.utm_campaign,
            gclid: c.gclid,
            landing_page: c.landing_page,
            has_transcription: false,
            created_at: c.created_at,
            number_id: c.number_id,
            call_flow_id: c.call_flow_id,
            call_flow_version: c.call_flow_version,
            direction: c.direction,
            caller_city: c.caller_city,
            caller_state: c.caller_state,
            caller_zip: c.caller_zip,
            first_time_caller: c.first_time_caller,
            referrer: c.referrer,
            session_id: c.session_id,
            has_recording: c.recording_url.is_some(),
            ai_category: None,
            ai_reasons: Vec::new(),
            cost_cents: c.cost.get(),
            notes: None,
            tags: Vec::new(),
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CallList {
    calls: Vec<CallView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[utoipa::path(
    get, path = "/calls", tag = "Calls", operation_id = "list_calls",
    params(ListParams),
    responses((status = 200, body = Data<CallList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The call log, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Data<CallList>> {
    auth.require(Access::Read)?;
    let found = calls::list(&state.store, auth.business_id, &page).await?;
    let (calls, page) = PageInfo::split(found, &page, CallView::from);
    Ok(Data::new(CallList { calls, page }))
}

#[utoipa::path(
    get, path = "/calls/{id}", tag = "Calls", operation_id = "get_call",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<CallView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One call with its full attribution.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Data<CallView>> {
    auth.require(Access::Read)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound("Call"))?;
    let call = calls::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call"))?;
    Ok(Data::new(call.into()))
}
