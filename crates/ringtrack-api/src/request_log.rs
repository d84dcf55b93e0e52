//! Request ids, the one log line per request, and the bounds on what a client chooses
//! that reaches a log or a metric: its method is one of HTTP's own (any other is refused
//! before anything is logged) and its path is written as the route that matched.

use std::time::Instant;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// Echoes a sane `X-Request-Id` (or makes one), runs the request inside a span that
/// carries it, and logs method, route, client, status and latency when the response is
/// ready. The route is the template that matched (filled in by [`crate::metrics::measure`]),
/// so no id or token in a path reaches the log.
pub async fn request_context(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_sane_id(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = method_label(request.method()),
        // The route that matched, filled in by `metrics::measure` (none for a 404).
        route = tracing::field::Empty,
        client = tracing::field::Empty,
        business_id = tracing::field::Empty,
    );
    if let Some(ConnectInfo(client)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        span.record("client", tracing::field::display(client.ip()));
    }
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = format!("{latency_ms:.2}"),
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The methods HTTP defines. Any other word a client sends is answered 405 at once: it
/// never reaches a route, a log line or a metric's label.
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

/// The method as a log field or metric label: one of a fixed few values.
pub fn method_label(method: &Method) -> &'static str {
    KNOWN_METHODS.iter().find(|known| *known == method).map_or("OTHER", Method::as_str)
}

/// The outermost layer: refuses a method HTTP does not define, and says `nosniff` on
/// every answer (no answer is ever read as another type than the one it declares).
pub async fn guard(request: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let mut response = if KNOWN_METHODS.contains(request.method()) {
        next.run(request).await
    } else {
        crate::error::ApiError::MethodNotAllowed.into_response()
    };
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// API answers are data, never a page: nothing in one may load, run or be framed (a
/// response that set its own policy, the reference page's, keeps it).
pub async fn no_content_policy(mut response: Response) -> Response {
    if !response.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    response
}

/// With an https public URL, browsers are told to use https alone for a year.
pub async fn strict_transport(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if state.public_url.starts_with("https://") {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// An id a client sent is kept only if it cannot forge or garble a log line.
fn is_sane_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_ids_are_echoed() {
        assert!(super::is_sane_id("0190f5a2-7c1e-7a4b-9a51-2a3c4d5e6f70"));
        assert!(super::is_sane_id("req_123.abc:4"));
        assert!(!super::is_sane_id(""));
        assert!(!super::is_sane_id("a b"));
        assert!(!super::is_sane_id("x\ny"));
        assert!(!super::is_sane_id(&"a".repeat(129)));
    }

    #[test]
    fn methods_are_bounded_for_logs() {
        use axum::http::Method;
        assert_eq!(super::method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes("A".repeat(5000).as_bytes()).unwrap();
        assert_eq!(super::method_label(&odd), "OTHER");
    }
}
