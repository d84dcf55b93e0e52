//! The OpenAPI 3.1 document, generated from the handlers' annotations (every route is
//! registered through `utoipa_axum::routes!`, so none can be missing), and a docs page
//! that renders it with no external scripts.

use axum::response::Html;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ringtrack API",
        description = "Call tracking: numbers, call flows, calls, recordings, SMS, DNI and forms. \
                       Compatible with CallScaler's /api/v1. Authenticate with \
                       `Authorization: Bearer cs_key_...`.",
    ),
    modifiers(&BearerKey),
    tags(
        (name = "Call flows", description = "How calls are routed: greeting, menu, schedule, forward, voicemail, ..."),
        (name = "Numbers", description = "Tracking numbers: search, buy, assign, release"),
        (name = "Number groups", description = "Sets of numbers for reporting and bulk management"),
        (name = "Number pools", description = "Dynamic number insertion: numbers leased to website visits"),
        (name = "Forms", description = "Web forms captured by the tracking script, with their attribution"),
        (name = "Calls", description = "The call log with attribution"),
        (name = "Voicemails", description = "Voicemails callers left"),
        (name = "Scoring", description = "How calls are scored as leads and qualified"),
        (name = "SMS", description = "Texts sent and received through tracking numbers"),
        (name = "Webhooks", description = "Signed, retried deliveries of a business's events"),
        (name = "Integrations", description = "Google Ads offline call conversions"),
        (name = "Dashboard", description = "Statistics and analytics over calls"),
        (name = "Sandbox", description = "Simulated calls through the public webhook path (sandbox carrier only)"),
        (name = "API keys", description = "Keys that authenticate API requests (admin only)"),
        (name = "Operations", description = "Probes and documentation"),
    ),
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("cs_key_ followed by 32 letters and digits".into());
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// Documents on every authenticated operation the refusals any request can meet (a body
/// that is not JSON, too big, the wrong content type, a bad field, too many requests), in
/// the error envelope its 401 already shows.
pub fn document_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    const COMMON: [(&str, &str); 5] = [
        ("400", "The body is not well-formed JSON"),
        ("413", "The body is too large"),
        ("415", "The body is not application/json"),
        ("422", "A field is refused; each is named in details"),
        ("429", "Too many requests for this key; see Retry-After"),
    ];
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            let Some(utoipa::openapi::RefOr::T(unauthorized)) = responses.get("401").cloned() else {
                continue;
            };
            for (code, description) in COMMON {
                responses.entry(code.to_owned()).or_insert_with(|| {
                    let mut response = unauthorized.clone();
                    response.description = description.to_owned();
                    utoipa::openapi::RefOr::T(response)
                });
            }
        }
    }
}

/// `GET /docs`: a readable page built from the OpenAPI document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
