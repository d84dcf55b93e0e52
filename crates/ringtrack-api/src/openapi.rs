//! The OpenAPI 3.1 document, generated from the handlers' annotations (every route is
//! registered through `utoipa_axum::routes!`, so none can be missing), and a docs page
//! that renders it with no external scripts.

use axum::response::Html;
use serde_json::json;
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
        (name = "Transcription", description = "The business's words the offline speech model is primed with"),
        (name = "SMS", description = "Texts sent and received through tracking numbers"),
        (name = "Webhooks", description = "Signed, retried deliveries of a business's events"),
        (name = "Integrations", description = "Google Ads offline call conversions"),
        (name = "Dashboard", description = "Statistics and analytics over calls"),
        (name = "Ad spend", description = "What the business spent per month and source, for cost per call and per lead"),
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

/// A link from one operation's answer to an operation it makes possible: which of the
/// answer's values fill the next request (OpenAPI runtime expressions), and, for a body
/// that needs values from the answer, the whole body to send.
struct Follows {
    from: &'static str,
    status: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
    body: Option<fn() -> serde_json::Value>,
}

const NUMBER_ID: &str = "$response.body#/data/id";
const FLOW_ID: &str = "$response.body#/data/call_flow/id";
const CALL_ID: &str = "$response.body#/data/call_id";
const POOL_ID: &str = "$response.body#/data/number_pool/id";
const GROUP_ID: &str = "$response.body#/data/id";
const WEBHOOK_ID: &str = "$response.body#/data/webhook/id";

/// What each resource's creation leads to: its reads, changes and deletion, and the
/// operations that need one (a call placed to a bought number, a pool of it, a text from
/// it). Clients and fuzzers (schemathesis's stateful phase) follow them with real ids.
const FOLLOWS: &[Follows] = &[
    Follows {
        from: "purchase_number",
        status: "201",
        to: "get_number",
        parameters: &[("id", NUMBER_ID)],
        body: None,
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "update_number",
        parameters: &[("id", NUMBER_ID)],
        body: None,
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "release_number",
        parameters: &[("id", NUMBER_ID)],
        body: None,
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "place_sandbox_call",
        parameters: &[],
        body: Some(
            || json!({"from": "+13055551234", "to": "$response.body#/data/phone_number", "talk_seconds": 30}),
        ),
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "deliver_sandbox_text",
        parameters: &[],
        body: Some(
            || json!({"from": "+13055551234", "to": "$response.body#/data/phone_number", "body": "Open Saturday?"}),
        ),
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "send_text",
        parameters: &[],
        body: Some(
            || json!({"from_number_id": NUMBER_ID, "to": "+13055551234", "body": "Thanks for calling!"}),
        ),
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "create_number_pool",
        parameters: &[],
        body: Some(
            || json!({"name": "Website", "number_ids": [NUMBER_ID], "target_number": "(573) 555-0100"}),
        ),
    },
    Follows {
        from: "purchase_number",
        status: "201",
        to: "create_number_group",
        parameters: &[],
        body: Some(|| json!({"name": "Paid Search", "number_ids": [NUMBER_ID]})),
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "get_call_flow",
        parameters: &[("id", FLOW_ID)],
        body: None,
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "update_call_flow",
        parameters: &[("id", FLOW_ID)],
        body: None,
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "delete_call_flow",
        parameters: &[("id", FLOW_ID)],
        body: None,
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "simulate_call_flow",
        parameters: &[("id", FLOW_ID)],
        body: None,
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "list_call_flow_versions",
        parameters: &[("id", FLOW_ID)],
        body: None,
    },
    Follows {
        from: "create_call_flow",
        status: "201",
        to: "restore_call_flow_version",
        parameters: &[("id", FLOW_ID), ("version", "$response.body#/data/call_flow/version")],
        body: None,
    },
    Follows {
        from: "place_sandbox_call",
        status: "201",
        to: "get_call",
        parameters: &[("id", CALL_ID)],
        body: None,
    },
    Follows {
        from: "place_sandbox_call",
        status: "201",
        to: "update_call",
        parameters: &[("id", CALL_ID)],
        body: None,
    },
    Follows {
        from: "place_sandbox_call",
        status: "201",
        to: "get_call_transcription",
        parameters: &[("id", CALL_ID)],
        body: None,
    },
    Follows {
        from: "place_sandbox_call",
        status: "201",
        to: "get_call_recording",
        parameters: &[("id", CALL_ID)],
        body: None,
    },
    Follows {
        from: "create_number_pool",
        status: "201",
        to: "get_number_pool",
        parameters: &[("id", POOL_ID)],
        body: None,
    },
    Follows {
        from: "create_number_pool",
        status: "201",
        to: "update_number_pool",
        parameters: &[("id", POOL_ID)],
        body: None,
    },
    Follows {
        from: "create_number_pool",
        status: "201",
        to: "delete_number_pool",
        parameters: &[("id", POOL_ID)],
        body: None,
    },
    Follows {
        from: "create_number_group",
        status: "201",
        to: "get_number_group",
        parameters: &[("id", GROUP_ID)],
        body: None,
    },
    Follows {
        from: "create_number_group",
        status: "201",
        to: "update_number_group",
        parameters: &[("id", GROUP_ID)],
        body: None,
    },
    Follows {
        from: "create_number_group",
        status: "201",
        to: "delete_number_group",
        parameters: &[("id", GROUP_ID)],
        body: None,
    },
    Follows {
        from: "create_number_group",
        status: "201",
        to: "add_number_group_members",
        parameters: &[("id", GROUP_ID)],
        body: None,
    },
    Follows {
        from: "create_number_group",
        status: "201",
        to: "remove_number_group_member",
        parameters: &[("id", GROUP_ID), ("number_id", "$request.body#/number_ids/0")],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "get_webhook",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "update_webhook",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "delete_webhook",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "list_webhook_deliveries",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "rotate_webhook_secret",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "create_webhook",
        status: "201",
        to: "test_webhook",
        parameters: &[("id", WEBHOOK_ID)],
        body: None,
    },
    Follows {
        from: "test_webhook",
        status: "202",
        to: "redeliver_webhook",
        parameters: &[("id", "$request.path.id"), ("delivery_id", "$response.body#/data/delivery_id")],
        body: None,
    },
    Follows {
        from: "create_api_key",
        status: "201",
        to: "revoke_api_key",
        parameters: &[("id", "$response.body#/data/id")],
        body: None,
    },
];

/// Adds [`FOLLOWS`] to the answers they start from, in the served document (utoipa
/// 5.5 writes a link's fields in snake case, which OpenAPI readers do not know). A link
/// naming an operation or an answer the document lacks is a mistake in the table: it
/// panics, which every test that starts the API catches.
pub fn link_operations(document: &mut serde_json::Value) {
    let mut operations: Vec<&mut serde_json::Value> = document["paths"]
        .as_object_mut()
        .expect("a document has paths")
        .values_mut()
        .flat_map(|item| item.as_object_mut().expect("a path item is an object").values_mut())
        .filter(|operation| operation.get("operationId").is_some())
        .collect();
    let known: std::collections::HashSet<String> = operations
        .iter()
        .map(|operation| operation["operationId"].as_str().unwrap_or("").to_owned())
        .collect();
    for follows in FOLLOWS {
        assert!(known.contains(follows.to), "a link to an unknown operation {}", follows.to);
        let response = operations
            .iter_mut()
            .find(|operation| operation["operationId"] == follows.from)
            .and_then(|operation| operation["responses"].get_mut(follows.status))
            .unwrap_or_else(|| panic!("a link from an unknown answer: {} {}", follows.from, follows.status));
        let mut link = json!({
            "operationId": follows.to,
            "parameters": follows.parameters.iter().map(|(name, expression)| (*name, *expression))
                .collect::<std::collections::BTreeMap<_, _>>(),
        });
        if let Some(body) = follows.body {
            link["requestBody"] = body();
            // Sent whole, not merged into a generated body (schemathesis's extension).
            link["x-schemathesis"] = json!({"merge_body": false});
        }
        response["links"][follows.to] = link;
    }
}

/// `GET /docs`: a readable page built from the OpenAPI document.
/// The reference page, with a policy that runs only the script and style served beside it.
pub async fn docs_page() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_SECURITY_POLICY, DOCS_POLICY)], Html(include_str!("docs.html")))
}

const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub async fn docs_script() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("docs.js"))
}

pub async fn docs_style() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("docs.css"))
}
