//! `/api/v1/transcription/terms`: the business's own words (services, brand names,
//! places) the speech model is primed with, with the business's name and what its call
//! flows say, so that they come out spelled right in transcripts.

use axum::extract::State;
use ringtrack_domain::Access;
use ringtrack_domain::transcription::parse_terms;
use ringtrack_store::businesses;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Auth;
use crate::envelope::Data;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"terms": ["Kohler", "Rheem", "tankless water heater", "Jefferson City"]}))]
pub struct TranscriptionTerms {
    /// At most 100, each 1 to 50 characters; duplicates are dropped.
    terms: Vec<String>,
}

#[utoipa::path(
    get, path = "/transcription/terms", tag = "Transcription", operation_id = "get_transcription_terms",
    responses((status = 200, body = Data<TranscriptionTerms>), (status = 401, body = ErrorBody)),
    security(("api_key" = [])),
)]
/// The words the speech model is primed with for the business's calls.
pub async fn get(State(state): State<AppState>, auth: Auth) -> ApiResult<Data<TranscriptionTerms>> {
    auth.require(Access::Read)?;
    let terms = businesses::transcription_terms(&state.store, auth.business_id).await?;
    Ok(Data::new(TranscriptionTerms { terms }))
}

#[utoipa::path(
    put, path = "/transcription/terms", tag = "Transcription", operation_id = "set_transcription_terms",
    request_body = TranscriptionTerms,
    responses(
        (status = 200, body = Data<TranscriptionTerms>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = [])),
)]
/// Replace the terms; recordings transcribed from now on are primed with them.
pub async fn set(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<TranscriptionTerms>,
) -> ApiResult<Data<TranscriptionTerms>> {
    auth.require(Access::Write)?;
    let terms = parse_terms("terms", input.terms.iter().map(String::as_str))?;
    ringtrack_core::recordings::set_terms(&state.store, auth.business_id, &terms).await?;
    Ok(Data::new(TranscriptionTerms { terms }))
}
