//! `/api/v1/calls`: the call log with every filter of the CallScaler reference, one call, a person's
//! changes (verdict, notes, tags), and the CSV export streamed in constant memory.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use ringtrack_domain::calls::{CallFilter, CallFilterParams};
use ringtrack_domain::dates::DateRangeParams;
use ringtrack_domain::{Access, CallId, FieldErrors, parse_text};
use ringtrack_store::calls::{self, Call, CallChanges};
use ringtrack_store::recordings;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::csv::{Cell, push_row, stream_calls};
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
    crate::audio::serve(&state, &recording, &headers).await
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
    let segments = serde_json::from_value::<Vec<StoredSegment>>(found.segments)
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

#[derive(Deserialize)]
struct StoredSegment {
    start: f64,
    end: f64,
    text: String,
    speaker: Option<String>,
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

const MAX_NOTES: usize = 10_000;
const MAX_TAGS: usize = 50;

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
    let notes = input.notes.map(|n| {
        n.filter(|n| !n.trim().is_empty()).and_then(|n| errors.take(parse_text("notes", &n, MAX_NOTES)))
    });
    let tags = input.tags.map(|tags| {
        let mut clean: Vec<String> = Vec::new();
        for (i, tag) in tags.iter().enumerate() {
            let tag = tag.trim();
            if tag.is_empty() || tag.chars().count() > 50 || tag.chars().any(char::is_control) {
                errors.push(format!("tags[{i}]"), "must be 1 to 50 characters");
            } else if !clean.iter().any(|t| t == tag) {
                clean.push(tag.to_owned());
            }
        }
        if clean.len() > MAX_TAGS {
            errors.push("tags", format!("at most {MAX_TAGS} tags"));
        }
        clean
    });
    errors.finish(())?;
    let mut tx = state.store.begin().await?;
    let changes = CallChanges { qualified: input.qualified, notes, tags };
    let call = ringtrack_core::calls::change(&mut tx, auth.business_id, id, changes)
        .await?
        .ok_or(ApiError::NotFound("Call"))?;
    tx.commit().await?;
    Ok(Data::new(call.into()))
}

const EXPORT_HEADER: [&str; 36] = [
    "id",
    "caller_number",
    "tracking_number",
    "destination_number",
    "call_flow_name",
    "status",
    "duration_seconds",
    "qualified",
    "ai_score",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "gclid",
    "landing_page",
    "has_transcription",
    "created_at",
    "number_id",
    "call_flow_id",
    "call_flow_version",
    "direction",
    "caller_city",
    "caller_state",
    "caller_zip",
    "first_time_caller",
    "referrer",
    "session_id",
    "has_recording",
    "ai_category",
    "ai_reasons",
    "cost_cents",
    "notes",
    "tags",
    "answered_at",
    "ended_at",
    "updated_at",
    "recording",
];

fn push_call(out: &mut String, c: &Call) {
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string());
    let (created, answered, ended, updated) =
        (c.created_at.to_string(), time(c.answered_at), time(c.ended_at), c.updated_at.to_string());
    let (id, number, flow) =
        (c.id.to_string(), c.number_id.map(|n| n.to_string()), c.call_flow_id.map(|f| f.to_string()));
    let (reasons, tags) = (c.ai_reasons.join("; "), c.tags.join("; "));
    let cells: Vec<Cell<'_>> = vec![
        id.as_str().into(),
        c.caller_number.as_str().into(),
        (&c.tracking_number).into(),
        (&c.destination_number).into(),
        (&c.call_flow_name).into(),
        c.status.as_str().into(),
        c.duration_seconds.into(),
        c.qualified.into(),
        c.ai_score.map_or(Cell::Empty, Cell::Number),
        (&c.utm_source).into(),
        (&c.utm_medium).into(),
        (&c.utm_campaign).into(),
        (&c.gclid).into(),
        (&c.landing_page).into(),
        c.has_transcription.into(),
        created.as_str().into(),
        (&number).into(),
        (&flow).into(),
        c.call_flow_version.map_or(Cell::Empty, Cell::Number),
        c.direction.as_str().into(),
        (&c.caller_city).into(),
        (&c.caller_state).into(),
        (&c.caller_zip).into(),
        c.first_time_caller.into(),
        (&c.referrer).into(),
        (&c.session_id).into(),
        c.recording_url.is_some().into(),
        (&c.ai_category).into(),
        reasons.as_str().into(),
        c.cost.get().into(),
        (&c.notes).into(),
        tags.as_str().into(),
        (&answered).into(),
        (&ended).into(),
        updated.as_str().into(),
        if c.recording_url.is_some() { Cell::Text("yes") } else { Cell::Empty },
    ];
    push_row(out, cells);
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
    let mut header_row = String::new();
    push_row(&mut header_row, EXPORT_HEADER.iter().map(|h| Cell::Text(h)));
    let chunks = calls::export(&state.store, auth.business_id, &filter);
    let filename = format!("calls-{}.csv", state.store.now().strftime("%Y%m%d-%H%M%S"));
    Ok(stream_calls(header_row, chunks, &filename, push_call))
}
