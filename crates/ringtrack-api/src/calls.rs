//! `/api/v1/calls`: the call log with every filter of the CallScaler reference, one call, a person's
//! changes (verdict, notes, tags), and the CSV export streamed in constant memory.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use ringtrack_domain::calls::{CallFilter, CallFilterParams, parse_notes, parse_tags};
use ringtrack_domain::dates::DateRangeParams;
use ringtrack_domain::{Access, CallId, FieldErrors};
use ringtrack_store::calls::{self, CallChanges};
use ringtrack_store::recordings;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ListParams, Paging, PathId, nullable};
pub use ringtrack_core::views::CallView;

#[derive(Serialize, ToSchema)]
pub struct CallList {
    calls: Vec<CallView>,
    #[serde(flatten)]
    page: PageInfo,
}

/// The filters of the call list, export and analytics: read as text (the domain names what
/// is wrong with a value) and documented as what each must be.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallFilters {
    /// ISO 8601 date (as documented) or date-time (alias start_date).
    #[param(format = Date, example = "2026-11-01")]
    date_from: Option<String>,
    /// ISO 8601 date (the whole day, UTC; as documented) or date-time (alias end_date).
    #[param(format = Date, example = "2026-11-30")]
    date_to: Option<String>,
    #[param(format = Date)]
    start_date: Option<String>,
    #[param(format = Date)]
    end_date: Option<String>,
    /// answered, missed, voicemail or in_progress.
    #[param(pattern = "^(answered|missed|voicemail|in_progress)$")]
    status: Option<String>,
    #[param(format = Uuid)]
    number_id: Option<String>,
    #[param(format = Uuid)]
    call_flow_id: Option<String>,
    #[param(value_type = Option<bool>)]
    qualified: Option<String>,
    /// Calls changed since this date-time (for syncing).
    #[param(format = DateTime)]
    updated_since: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0)]
    min_duration: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0)]
    max_duration: Option<String>,
    utm_source: Option<String>,
    /// Exactly this utm_campaign.
    utm_campaign: Option<String>,
    /// Exactly this utm_medium.
    utm_medium: Option<String>,
    /// The source as analytics groups it: the number's own, else the visit's utm_source,
    /// else `direct`.
    source: Option<String>,
    /// Only calls from callers who had never called before (true) or had (false).
    #[param(value_type = Option<bool>)]
    first_time: Option<String>,
    /// The landing page's address, without its query or fragment (as analytics groups it).
    landing_page: Option<String>,
    /// Digits of the caller's number.
    search: Option<String>,
}

impl From<CallFilters> for CallFilterParams {
    fn from(f: CallFilters) -> Self {
        CallFilterParams {
            status: f.status,
            number_id: f.number_id,
            call_flow_id: f.call_flow_id,
            qualified: f.qualified,
            updated_since: f.updated_since,
            min_duration: f.min_duration,
            max_duration: f.max_duration,
            utm_source: f.utm_source,
            utm_campaign: f.utm_campaign,
            source: f.source,
            utm_medium: f.utm_medium,
            first_time: f.first_time,
            landing_page: f.landing_page,
            search: f.search,
            dates: DateRangeParams {
                date_from: f.date_from,
                date_to: f.date_to,
                start_date: f.start_date,
                end_date: f.end_date,
            },
        }
    }
}

fn filter(params: CallFilters) -> ApiResult<CallFilter> {
    Ok(CallFilter::parse(&params.into())?)
}

#[utoipa::path(
    get, path = "/calls", tag = "Calls", operation_id = "list_calls",
    params(ListParams, CallFilters),
    responses((status = 200, body = Data<CallList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The call log, newest first, every filter combinable.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
    ApiQuery(params): ApiQuery<CallFilters>,
) -> ApiResult<Data<CallList>> {
    auth.require(Access::Read)?;
    let filter = filter(params)?;
    let found = calls::list(&state.store, auth.business_id, &filter, &page).await?;
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
    PathId(id): PathId<CallId>,
) -> ApiResult<Data<CallView>> {
    auth.require(Access::Read)?;
    let call = calls::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call"))?;
    Ok(Data::new(call.into()))
}

#[utoipa::path(
    get, path = "/calls/{id}/recording", tag = "Calls", operation_id = "get_call_recording",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The audio", content_type = "audio/mpeg", body = Vec<u8>),
        (status = 206, description = "The requested byte range", content_type = "audio/mpeg", body = Vec<u8>),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 416, description = "The range starts past the end"),
        (status = 401, body = ErrorBody), (status = 404, description = "No such call, or its audio is not stored yet", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// The call's audio (`audio/mpeg`): the conversation, or the voicemail when that is all
/// there is. Kept once the pipeline has fetched it from the carrier; 404 until then.
/// Byte ranges (`Range`), `ETag` and `If-None-Match` are honoured.
pub async fn recording(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallId>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    auth.require(Access::Read)?;
    calls::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call"))?;
    let recording = recordings::get(&state.store, auth.business_id, id, None)
        .await?
        .ok_or(ApiError::NotFound("Recording"))?;
    crate::download::recording(&state, &recording, &headers).await
}

#[derive(Serialize, ToSchema)]
pub struct SegmentView {
    /// Seconds from the start of the recording.
    start: f64,
    end: f64,
    text: String,
    /// caller or agent, on a two-channel recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptionView {
    #[schema(format = Uuid)]
    call_id: Uuid,
    /// pending, completed, no_speech (the audio holds no words: nothing to read) or
    /// failed.
    status: String,
    /// call (the conversation) or voicemail.
    source: String,
    text: Option<String>,
    segments: Vec<SegmentView>,
    /// Which engine and model transcribed it.
    engine: Option<String>,
    /// Why it failed, when it did.
    error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptionBody {
    transcription: TranscriptionView,
}

#[utoipa::path(
    get, path = "/calls/{id}/transcription", tag = "Calls", operation_id = "get_call_transcription",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, body = Data<TranscriptionBody>), (status = 401, body = ErrorBody),
        (status = 404, description = "No such call, or it has no recording to transcribe", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// The call's transcription: the conversation's (segments labelled caller and agent on a
/// two-channel recording), or the voicemail's. `pending` while it is being made;
/// `no_speech` when the audio held no words.
pub async fn transcription(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallId>,
) -> ApiResult<Data<TranscriptionBody>> {
    auth.require(Access::Read)?;
    calls::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Call"))?;
    let found = recordings::transcription(&state.store, auth.business_id, id)
        .await?
        .ok_or(ApiError::NotFound("Transcription"))?;
    let segments = found
        .segments()
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|s| SegmentView { start: s.start, end: s.end, text: s.text, speaker: s.speaker })
        .collect();
    Ok(Data::new(TranscriptionBody {
        transcription: TranscriptionView {
            call_id: found.call_id.as_uuid(),
            status: found.status,
            source: found.source.as_str().into(),
            text: found.text,
            segments,
            engine: found.engine,
            error: found.error,
            created_at: found.created_at,
            updated_at: found.updated_at,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"qualified": true, "notes": "Booked for Tuesday", "tags": ["booked"]}))]
pub struct UpdateCall {
    /// A person's verdict; it outranks the automatic one. null withdraws it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    qualified: Option<Option<bool>>,
    /// null clears them.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
    /// Replaces the call's tags.
    tags: Option<Vec<String>>,
}

#[utoipa::path(
    patch, path = "/calls/{id}", tag = "Calls", operation_id = "update_call",
    params(("id" = String, Path, format = Uuid)),
    request_body = UpdateCall,
    responses(
        (status = 200, body = Data<CallView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Record a person's verdict, notes or tags on a call.
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<CallId>,
    ApiJson(input): ApiJson<UpdateCall>,
) -> ApiResult<Data<CallView>> {
    auth.require(Access::Write)?;
    let mut errors = FieldErrors::new();
    let notes = input.notes.map(|n| errors.take(parse_notes("notes", n.as_deref().unwrap_or(""))).flatten());
    let tags = input
        .tags
        .map(|tags| errors.take_all(parse_tags("tags", tags.iter().map(String::as_str))).unwrap_or_default());
    errors.finish(())?;
    let mut tx = state.store.begin().await?;
    let changes = CallChanges { qualified: input.qualified, notes, tags };
    let call = ringtrack_core::calls::change(&mut tx, auth.business_id, id, changes)
        .await?
        .ok_or(ApiError::NotFound("Call"))?;
    tx.commit().await?;
    Ok(Data::new(call.into()))
}

#[utoipa::path(
    get, path = "/calls/export", tag = "Calls", operation_id = "export_calls",
    params(CallFilters),
    responses(
        (status = 200, description = "text/csv: a header row, then every matching call", content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Every matching call as CSV, streamed (no paging).
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(params): ApiQuery<CallFilters>,
) -> ApiResult<Response> {
    auth.require(Access::Read)?;
    let filter = filter(params)?;
    let filename = ringtrack_core::csv::calls_filename(state.store.now());
    Ok(crate::download::csv(&filename, ringtrack_core::csv::calls(&state.store, auth.business_id, &filter)))
}
