//! Static assets, embedded in the binary and served under names that carry a hash of
//! their content, so browsers may keep them for a year and a new build is never stale.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const STYLESHEET: &str = include_str!("../assets/app.css");

/// `/assets/app-{hash}.css`: any hash routes here; only the current one is answered.
pub const STYLESHEET_ROUTE: &str = "/assets/{name}";

static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    let hash: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
    format!("app-{hash}.css")
});

pub fn stylesheet_url() -> String {
    format!("/assets/{}", *STYLESHEET_NAME)
}

pub async fn stylesheet(Path(name): Path<String>) -> Response {
    if name != *STYLESHEET_NAME {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}
