//! The HTTP face of ringtrack: `/api/v1` (one module per resource), operations probes and
//! the OpenAPI document. Handlers parse input into domain types at the edge, run one store
//! transaction per write, and answer in the `{"data": …}` / `{"error": …}` envelope.

pub mod ad_spend;
pub mod api_keys;
pub mod auth;
pub mod call_flows;
pub mod calls;
pub mod dashboard;
pub mod dni;
mod download;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod forms;
pub mod google_ads;
pub mod idempotency;
pub mod metrics;
pub mod number_groups;
pub mod number_pools;
pub mod numbers;
pub mod openapi;
pub mod ops;
pub mod outbound_webhooks;
pub mod rate_limit;
mod request_log;
pub mod sandbox;
pub mod scoring;
mod server;
pub mod sms;
pub mod transcription_terms;
pub mod voicemails;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use ringtrack_carrier::sandbox_call::SandboxCaller;
use ringtrack_carrier::{Carrier, Webhooks};
use ringtrack_domain::Prices;
use ringtrack_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
pub use crate::server::{ConnectionLimits, MAX_HEAD_BYTES, serve};

/// What every handler can reach: one shared allocation, so the clone each extractor and
/// layer takes per request is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The server's state, behind [`AppState`].
pub struct Shared {
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
    /// This node's rate limits on the public DNI endpoints.
    pub dni_limits: Arc<dni::DniLimits>,
    /// Webhook endpoints may be plain http:// on loopback addresses (local testing only).
    pub allow_http_webhooks: bool,
    /// This node's limit on `/api/v1` requests per key (per address without one, and for
    /// failed authentication).
    pub api_limits: Arc<rate_limit::RateLimiter>,
    /// This node's limit on carrier webhooks per address.
    pub carrier_limits: Arc<rate_limit::RateLimiter>,
    /// This node's request figures, for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Seals the secrets kept at rest (webhook signing secrets).
    pub sealer: Arc<ringtrack_domain::secrets::Sealer>,
}

impl Shared {
    /// Where a business may aim our requests: never an internal address, but loopback
    /// under the local-testing exception.
    pub fn outbound_reach(&self) -> ringtrack_domain::outbound::Reach {
        match self.allow_http_webhooks {
            true => ringtrack_domain::outbound::Reach::AlsoLoopback,
            false => ringtrack_domain::outbound::Reach::PublicOnly,
        }
    }

    /// Where the carrier sends a number's calls, texts and call progress.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks::at(&self.public_url)
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
        .routes(routes!(transcription_terms::get, transcription_terms::set))
        .routes(routes!(ad_spend::list, ad_spend::set))
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
        .routes(routes!(number_groups::remove_member))
        .routes(routes!(number_pools::list, number_pools::create))
        .routes(routes!(number_pools::get, number_pools::update, number_pools::delete))
        .routes(routes!(forms::list))
        .routes(routes!(forms::get))
        .routes(routes!(outbound_webhooks::list, outbound_webhooks::create))
        .routes(routes!(outbound_webhooks::get, outbound_webhooks::update, outbound_webhooks::delete))
        .routes(routes!(outbound_webhooks::rotate))
        .routes(routes!(outbound_webhooks::deliveries))
        .routes(routes!(outbound_webhooks::test))
        .routes(routes!(outbound_webhooks::redeliver))
        .routes(routes!(google_ads::conversions))
        .routes(routes!(google_ads::ineligible));
    let (routes, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", v1)
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .split_for_parts();
    let mut openapi = openapi;
    openapi::document_common_errors(&mut openapi);
    let mut document = serde_json::to_value(&openapi).expect("the OpenAPI document serializes");
    openapi::link_operations(&mut document);
    let document = Arc::new(document);

    routes
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(document.as_ref().clone()) }))
        .route("/docs", get(openapi::docs_page))
        .route("/docs/docs.js", get(openapi::docs_script))
        .route("/docs/docs.css", get(openapi::docs_style))
        .merge(carrier_routes(state.clone()))
        .route("/dni.js", get(dni::script))
        .merge(dni_routes())
        .fallback(|| async { ApiError::NotFound("Route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit_api))
        .layer(axum::middleware::map_response(request_log::no_content_policy))
        .with_state(state)
}

/// What wraps every route of the server, the API's and the web app's alike: metrics and
/// the request log by route template (`/invitations/{token}`, never the token), request
/// ids, and the refusal of methods HTTP does not define.
pub fn observed(routes: Router, state: AppState) -> Router {
    routes
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::measure))
        .layer(axum::middleware::from_fn_with_state(state, request_log::strict_transport))
        .layer(axum::middleware::from_fn(request_log::request_context))
        .layer(axum::middleware::from_fn(request_log::guard))
}

/// The carrier's webhooks (Twilio's dialect), limited per address.
fn carrier_routes(state: AppState) -> Router<AppState> {
    Router::new()
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
        .layer(axum::middleware::from_fn_with_state(state, rate_limit::limit_carrier_webhooks))
}

/// The keyless endpoints the tracking script calls, with their own body cap.
fn dni_routes() -> Router<AppState> {
    Router::new()
        .route("/dni/v1/sessions", post(dni::session).options(dni::preflight))
        .route("/dni/v1/sessions/{id}/heartbeat", post(dni::heartbeat).options(dni::preflight))
        .route("/dni/v1/forms", post(dni::form).options(dni::preflight))
        .route("/dni/v1/amp/{pool_id}", get(dni::amp))
        .route("/dni/v1/pages", post(dni::page).options(dni::preflight))
        .layer(DefaultBodyLimit::max(dni::MAX_BODY_BYTES))
}
