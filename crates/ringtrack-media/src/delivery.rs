//! Serving a stored recording over HTTP, as players and browsers expect (the API's door and
//! the app's `<audio>` alike): `audio/mpeg` with
//! a length, a strong ETag (the audio's SHA-256, the same from every node and store),
//! `304` on a matching `If-None-Match`, and single byte ranges (`206`, or `416` when the
//! range is past the end) so players can seek without downloading the whole call.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::storage::{Recordings, StorageError};

/// A `Range` header's one byte range, resolved against the object's length.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part { start: u64, end_inclusive: u64 },
    Unsatisfiable,
}

/// Reads `bytes=a-b`, `bytes=a-` and `bytes=-n`. Anything else (several ranges, other
/// units, nonsense) is ignored and the whole object served, as RFC 9110 allows.
fn wanted(range: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else { return Wanted::Whole };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return Wanted::Whole };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => match number(last) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(suffix) => (len.saturating_sub(suffix), len.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, true) => match number(first) {
            Some(start) => (start, len.saturating_sub(1)),
            None => return Wanted::Whole,
        },
        (false, false) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end => (start, end.min(len.saturating_sub(1))),
            _ => return Wanted::Whole,
        },
        (true, true) => return Wanted::Whole,
    };
    if len == 0 || start >= len {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part { start, end_inclusive: end }
}

/// Whether the client's `If-None-Match` names `etag` (or `*`): it has this version already.
pub fn client_has(request: &HeaderMap, etag: &str) -> bool {
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// A stored object as HTTP sends it.
pub struct Stored<'a> {
    pub object_key: &'a str,
    /// Hex SHA-256 of the whole object: its strong ETag.
    pub sha256: &'a str,
    pub len: u64,
}

impl<'a> Stored<'a> {
    /// `bytes` as the store keeps it (a signed count; never negative).
    pub fn new(object_key: &'a str, sha256: &'a str, bytes: i64) -> Self {
        Stored { object_key, sha256, len: u64::try_from(bytes).unwrap_or(0) }
    }
}

/// The response for a stored audio object, honouring the request's conditional and range
/// headers.
pub async fn audio(
    recordings: &Recordings,
    stored: &Stored<'_>,
    request: &HeaderMap,
) -> Result<Response<Bytes>, StorageError> {
    let etag = format!("\"{}\"", stored.sha256);
    let len = stored.len;
    let header_text = |name| request.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // A caller's voice: no cache, shared or the browser's own, keeps a copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if client_has(request, &etag) {
        return Ok(respond(StatusCode::NOT_MODIFIED, headers, Bytes::new()));
    }
    // A range is for the version the client has: with a stale If-Range, send it all.
    let range = match header_text(header::IF_RANGE) {
        Some(tag) if tag.trim() != etag => None,
        _ => header_text(header::RANGE),
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::audio::MP3));
    match wanted(range, len) {
        Wanted::Whole => {
            let bytes = recordings.get(stored.object_key).await?;
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Ok(respond(StatusCode::OK, headers, bytes))
        }
        Wanted::Part { start, end_inclusive } => {
            let bytes = recordings.get_range(stored.object_key, start..end_inclusive + 1).await?;
            let content_range = format!("bytes {start}-{end_inclusive}/{len}");
            headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&content_range).expect("ascii"));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Ok(respond(StatusCode::PARTIAL_CONTENT, headers, bytes))
        }
        Wanted::Unsatisfiable => {
            headers.remove(header::CONTENT_TYPE);
            let content_range = format!("bytes */{len}");
            headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&content_range).expect("ascii"));
            Ok(respond(StatusCode::RANGE_NOT_SATISFIABLE, headers, Bytes::new()))
        }
    }
}

fn respond(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_resolve_against_the_length() {
        let part = |start, end_inclusive| Wanted::Part { start, end_inclusive };
        assert_eq!(wanted(None, 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(wanted(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(wanted(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(wanted(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(wanted(Some("bytes=50-5000"), 100), part(50, 99));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        // Ignored: several ranges, other units, reversed or malformed ranges.
        for ignored in ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=a-b", "bytes=-", "bytes=5"] {
            assert_eq!(wanted(Some(ignored), 100), Wanted::Whole, "{ignored}");
        }
    }
}
