//! Downloads: CSV files streamed as they are read, and recordings with byte ranges.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use ringtrack_media::delivery::{self, Stored};
use ringtrack_store::recordings::Recording;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// A CSV attachment named `filename`, sent as `rows` are made.
pub fn csv(
    filename: &str,
    rows: impl Stream<Item = Result<String, std::io::Error>> + Send + 'static,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        Body::from_stream(rows),
    )
        .into_response()
}

/// A recording's audio, as the request's range and conditional headers ask.
pub async fn recording(state: &AppState, recording: &Recording, request: &HeaderMap) -> ApiResult<Response> {
    let stored = Stored::new(&recording.object_key, &recording.sha256, recording.bytes);
    let response = delivery::audio(&state.recordings, &stored, request).await.map_err(ApiError::internal)?;
    Ok(response.map(Body::from))
}
