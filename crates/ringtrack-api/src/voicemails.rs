//! `/api/v1/voicemails`: the voicemails callers left, their transcription and audio.

use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use ringtrack_domain::jobs::AudioSource;
use ringtrack_domain::{Access, FieldErrors, NumberId, VoicemailId};
use ringtrack_store::recordings;
use ringtrack_store::voicemails::{self, Voicemail};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::{Data, PageInfo};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, DateParams, ListParams, Paging, PathId, parse_id};

#[derive(Serialize, ToSchema)]
pub struct VoicemailView {
    #[schema(format = Uuid)]
    id: Uuid,
    #[schema(format = Uuid)]
    call_id: Uuid,
    caller_number: String,
    tracking_number: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    number_id: Option<NumberId>,
    duration_seconds: i64,
    has_transcription: bool,
    transcription_text: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<Voicemail> for VoicemailView {
    fn from(v: Voicemail) -> Self {
        VoicemailView {
            id: v.id.as_uuid(),
            call_id: v.call_id.as_uuid(),
            caller_number: v.caller_number,
            tracking_number: v.tracking_number,
            number_id: v.number_id,
            duration_seconds: v.duration_seconds,
            has_transcription: v.has_transcription,
            transcription_text: v.transcription_text,
            created_at: v.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VoicemailList {
    voicemails: Vec<VoicemailView>,
    #[serde(flatten)]
    page: PageInfo,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VoicemailFilters {
    #[param(format = Uuid)]
    number_id: Option<String>,
}

#[utoipa::path(
    get, path = "/voicemails", tag = "Voicemails", operation_id = "list_voicemails",
    params(ListParams, VoicemailFilters, DateParams),
    responses((status = 200, body = Data<VoicemailList>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// Voicemails, newest first.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
    ApiQuery(filters): ApiQuery<VoicemailFilters>,
    ApiQuery(dates): ApiQuery<DateParams>,
) -> ApiResult<Data<VoicemailList>> {
    auth.require(Access::Read)?;
    let mut errors = FieldErrors::new();
    let range = dates.take(&mut errors);
    let number_id = errors.take(parse_id("number_id", filters.number_id.as_deref())).flatten();
    errors.finish(())?;
    let found = voicemails::list(&state.store, auth.business_id, &range, number_id, &page).await?;
    let (voicemails, page) = PageInfo::split(found, &page, VoicemailView::from);
    Ok(Data::new(VoicemailList { voicemails, page }))
}

#[utoipa::path(
    get, path = "/voicemails/{id}", tag = "Voicemails", operation_id = "get_voicemail",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Data<VoicemailView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// One voicemail.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<VoicemailId>,
) -> ApiResult<Data<VoicemailView>> {
    auth.require(Access::Read)?;
    let voicemail =
        voicemails::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Voicemail"))?;
    Ok(Data::new(voicemail.into()))
}

#[utoipa::path(
    get, path = "/voicemails/{id}/recording", tag = "Voicemails", operation_id = "get_voicemail_recording",
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The audio", content_type = "audio/mpeg", body = Vec<u8>),
        (status = 206, description = "The requested byte range", content_type = "audio/mpeg", body = Vec<u8>),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 416, description = "The range starts past the end"),
        (status = 401, body = ErrorBody), (status = 404, description = "No such voicemail, or its audio is not stored yet", body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// The voicemail's audio (`audio/mpeg`), kept once the pipeline has fetched it from the
/// carrier; 404 until then. Byte ranges, `ETag` and `If-None-Match` are honoured.
pub async fn recording(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<VoicemailId>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    auth.require(Access::Read)?;
    let voicemail =
        voicemails::get(&state.store, auth.business_id, id).await?.ok_or(ApiError::NotFound("Voicemail"))?;
    let recording =
        recordings::get(&state.store, auth.business_id, voicemail.call_id, Some(AudioSource::Voicemail))
            .await?
            .ok_or(ApiError::NotFound("Recording"))?;
    crate::download::recording(&state, &recording, &headers).await
}
