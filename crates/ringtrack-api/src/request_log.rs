//! Request ids, the one log line per request, and the bounds on what a client chooses
//! that reaches a log or a metric: its method is one of HTTP's own (any other is refused
//! before anything is logged) and only a bounded prefix of its path is written.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

const REQUEST_ID: &str = "x-request-id";

/// Echoes a sane `X-Request-Id` (or makes one), runs the request inside a span that
/// carries it, and logs method, path, status and latency when the response is ready.
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
        path = logged_path(request.uri().path()),
        business_id = tracing::field::Empty,
    );
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

/// The most of a path a log line carries.
const MAX_LOGGED_PATH: usize = 256;

/// A path as logged: at most [`MAX_LOGGED_PATH`] bytes (cut at a character boundary).
fn logged_path(path: &str) -> &str {
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
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
    fn methods_and_paths_are_bounded_for_logs() {
        use axum::http::Method;
        assert_eq!(super::method_label(&Method::PATCH), "PATCH");
        let odd = Method::from_bytes("A".repeat(5000).as_bytes()).unwrap();
        assert_eq!(super::method_label(&odd), "OTHER");
        assert_eq!(super::logged_path("/api/v1/calls"), "/api/v1/calls");
        let long = format!("/{}", "é".repeat(1000));
        let logged = super::logged_path(&long);
        assert_eq!(logged.len(), 255, "cut at a character boundary");
        assert!(long.starts_with(logged));
    }
}
