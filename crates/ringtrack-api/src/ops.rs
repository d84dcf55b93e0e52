//! Probes for orchestrators: alive (`/healthz`) and able to serve (`/readyz`).

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::envelope::Data;
use crate::error::{ApiError, ApiResult, ErrorBody};

#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "Operations", responses((status = 200, body = Data<Status>)))]
/// The process is alive.
pub async fn healthz() -> Data<Status> {
    Data::new(Status { status: "ok" })
}

#[utoipa::path(
    get, path = "/readyz", tag = "Operations",
    responses((status = 200, body = Data<Status>), (status = 503, description = "The database does not answer", body = ErrorBody)),
)]
/// The database answers: this node can serve requests.
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Data<Status>> {
    if state.store.ping().await { Ok(Data::new(Status { status: "ok" })) } else { Err(ApiError::Unavailable) }
}
