//! Static assets, embedded in the binary and served under names that carry a hash of
//! their content, so browsers may keep them for a year and a new build is never stale.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy)]
pub enum Asset {
    Stylesheet,
    /// The small script that enhances pages: the player's transcript, live rows, the
    /// switcher. Every page works without it.
    Script,
}

const ALL: [Asset; 2] = [Asset::Stylesheet, Asset::Script];

impl Asset {
    fn content(self) -> &'static str {
        match self {
            Asset::Stylesheet => include_str!("../assets/app.css"),
            Asset::Script => include_str!("../assets/app.js"),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Asset::Stylesheet => "text/css; charset=utf-8",
            Asset::Script => "text/javascript; charset=utf-8",
        }
    }

    /// `app-{hash}.css`.
    fn name(self) -> &'static str {
        static NAMES: LazyLock<[String; 2]> = LazyLock::new(|| {
            ALL.map(|asset| {
                let digest = Sha256::digest(asset.content().as_bytes());
                let hash: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
                let extension = match asset {
                    Asset::Stylesheet => "css",
                    Asset::Script => "js",
                };
                format!("app-{hash}.{extension}")
            })
        });
        &NAMES[self as usize]
    }
}

/// `/assets/{name}`: any name routes here; only the current ones are answered.
pub const ROUTE: &str = "/assets/{name}";

pub fn url(asset: Asset) -> String {
    format!("/assets/{}", asset.name())
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ALL.into_iter().find(|asset| asset.name() == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type()),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.content(),
    )
        .into_response()
}
