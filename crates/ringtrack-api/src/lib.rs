//! The HTTP face of ringtrack: `/api/v1` (one module per resource), operations probes and
//! the OpenAPI document. Handlers parse input into domain types at the edge, run one store
//! transaction per write, and answer in the `{"data": …}` / `{"error": …}` envelope.

pub mod api_keys;
mod audio;
pub mod auth;
pub mod call_flows;
pub mod calls;
mod csv;
pub mod dashboard;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod number_groups;
pub mod numbers;
pub mod openapi;
pub mod ops;
mod request_log;
pub mod sandbox;
pub mod scoring;
pub mod sms;
pub mod voicemails;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use ringtrack_carrier::sandbox_call::SandboxCaller;
use ringtrack_carrier::{Carrier, Webhooks};
use ringtrack_domain::Prices;
use ringtrack_store::Store;
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub carrier: Arc<dyn Carrier>,
    /// What numbers cost a month (charged at purchase and each renewal) and calls a minute.
    pub prices: Prices,
    /// The address carriers and browsers reach this server at (webhook URLs, snippets).
    pub public_url: Arc<str>,
    /// The auth token carrier webhooks are signed with.
    pub webhook_token: Arc<str>,
    /// With the sandbox carrier: what places simulated calls.
    pub sandbox: Option<Arc<SandboxCaller>>,
    /// Where recordings are kept.
    pub recordings: ringtrack_media::storage::Recordings,
}

impl AppState {
    /// Where the carrier sends a number's calls, texts and call progress.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks::at(&self.public_url)
    }

    /// Where the carrier reports the progress of texts sent.
    pub fn sms_status_url(&self) -> String {
        format!("{}/webhooks/twilio/sms/status", self.public_url)
    }
}

/// The whole application: routes, error fallbacks and the request middleware.
pub fn router(state: AppState) -> Router {
    let v1 = OpenApiRouter::new()
        .routes(routes!(api_keys::list, api_keys::create))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(call_flows::list, call_flows::create))
        .routes(routes!(call_flows::get, call_flows::update, call_flows::delete))
        .routes(routes!(call_flows::versions))
        .routes(routes!(call_flows::restore))
        .routes(routes!(call_flows::simulate))
        .routes(routes!(dashboard::stats))
        .routes(routes!(dashboard::calls))
        .routes(routes!(voicemails::list))
        .routes(routes!(voicemails::get))
        .routes(routes!(voicemails::recording))
        .routes(routes!(calls::recording))
        .routes(routes!(calls::transcription))
        .routes(routes!(scoring::get, scoring::update))
        .routes(routes!(sms::list))
        .routes(routes!(sms::send))
        .routes(routes!(sandbox::deliver_text))
        .routes(routes!(calls::list))
        .routes(routes!(calls::export))
        .routes(routes!(calls::get, calls::update))
        .routes(routes!(sandbox::place_call))
        .routes(routes!(numbers::list))
        .routes(routes!(numbers::get, numbers::update, numbers::release))
        .routes(routes!(numbers::search))
        .routes(routes!(numbers::purchase))
        .routes(routes!(number_groups::list, number_groups::create))
        .routes(routes!(number_groups::bulk_stats))
        .routes(routes!(number_groups::get, number_groups::update, number_groups::delete))
        .routes(routes!(number_groups::add_members))
        .routes(routes!(number_groups::remove_member));
    let (routes, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", v1)
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .split_for_parts();
    let openapi = Arc::new(openapi);

    routes
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(openapi.as_ref().clone()) }))
        .route("/docs", get(openapi::docs_page))
        .route("/webhooks/twilio/voice", post(webhooks::voice))
        .route("/webhooks/twilio/voice/gather", post(webhooks::gather))
        .route("/webhooks/twilio/voice/dial", post(webhooks::dial))
        .route("/webhooks/twilio/voice/record", post(webhooks::record))
        .route("/webhooks/twilio/voice/whisper", post(webhooks::whisper))
        .route("/webhooks/twilio/voice/whisper/answer", post(webhooks::whisper_answer))
        .route("/webhooks/twilio/voice/recording", post(webhooks::recording))
        .route("/webhooks/twilio/voice/status", post(webhooks::status))
        .route("/webhooks/twilio/sms", post(webhooks::sms))
        .route("/webhooks/twilio/sms/status", post(webhooks::sms_status))
        .fallback(|| async { ApiError::NotFound("Route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_log::request_context))
        .with_state(state)
}

/// Serves until `shutdown` completes, then stops accepting and finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
