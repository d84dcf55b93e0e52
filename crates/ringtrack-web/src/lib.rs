//! The people's door: the web app at `/`, server-rendered, on the same listener as the
//! API. It calls the core (and reads through the store) exactly as the API does; nothing
//! here is a rule of its own beyond the shape of pages.
//!
//! Sessions are rows in the database behind an `HttpOnly`, `SameSite=Lax` cookie (`Secure`
//! when the public URL is https); every state-changing request carries the session's CSRF
//! token, and sign-in forms (before there is a session) must come from this origin. Every
//! page is sent with a `Content-Security-Policy` that allows no inline script or style.

mod account;
mod assets;
mod breakdowns;
mod businesses;
mod calls;
mod charts;
mod dashboard;
mod format;
mod inbox;
mod invitations;
mod layout;
mod leads;
mod live;
mod period;
mod reports;
mod session;
mod settings;
mod sign_in;
mod spend;
mod table;
mod team;
mod texts;
mod website;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use ringtrack_domain::secrets::Sealer;
use ringtrack_store::Store;

/// What the pages need.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub sealer: Arc<Sealer>,
    /// Where recordings are kept, for the call page's player.
    pub recordings: ringtrack_media::storage::Recordings,
    /// What numbers, calls and texts cost (a reply is charged as the API's text is).
    pub prices: ringtrack_domain::Prices,
    /// Sends invitations and password resets (or nothing, when the server has no SMTP).
    pub mailer: ringtrack_core::mail::Mailer,
    /// Room for the live streams this node holds open ([`live::MAX_STREAMS`], and
    /// [`live::MAX_STREAMS_PER_SESSION`] for each session).
    pub live_streams: Arc<live::Streams>,
    /// The address browsers reach this server at: the origin forms must come from, and
    /// whether cookies are `Secure`.
    pub public_url: Arc<str>,
}

impl WebState {
    fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL's scheme, host and port, as browsers send it in `Origin`.
    fn origin(&self) -> &str {
        origin_of(&self.public_url)
    }
}

fn origin_of(url: &str) -> &str {
    let url = url.trim_end_matches('/');
    let Some(scheme_end) = url.find("://") else { return url };
    match url[scheme_end + 3..].find('/') {
        Some(path) => &url[..scheme_end + 3 + path],
        None => url,
    }
}

/// Room for a node's live streams, made once per node.
pub fn live_streams() -> Arc<live::Streams> {
    live::streams()
}

/// The app's routes, to be merged with the API's.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(sign_in::home))
        .route("/login", get(sign_in::login_form).post(sign_in::login))
        .route("/login/code", post(sign_in::second_factor))
        .route("/logout", post(sign_in::logout))
        .route("/invitations", get(invitations::list).post(invitations::answer))
        .route("/invitations/{token}", get(sign_in::invitation_form).post(sign_in::accept_invitation))
        .route("/invitations/{token}/answer", post(invitations::answer_link))
        .route("/welcome/{token}", get(sign_in::welcome_form).post(sign_in::welcome))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/{file}", get(breakdowns::csv))
        .route("/reports", get(reports::page))
        .route("/reports.csv", get(reports::csv))
        .route("/reports/saved", post(reports::save))
        .route("/reports/saved/{id}/remove", post(reports::remove))
        .route("/spend", get(spend::show).post(spend::save))
        .route("/spend/remove", post(spend::remove))
        .route("/calls", get(calls::log))
        .route("/calls.csv", get(calls::csv))
        .route("/calls/live", get(live::calls))
        .route("/calls/{id}", get(calls::call))
        .route("/calls/{id}/audio", get(calls::audio))
        .route("/calls/{id}/verdict", post(calls::verdict))
        .route("/calls/{id}/notes", post(calls::save_notes))
        .route("/voicemails", get(inbox::voicemails))
        .route("/forms", get(inbox::forms))
        .route("/texts", get(texts::list))
        .route("/texts/segments", get(texts::count))
        .route("/texts/{contact}", get(texts::conversation).post(texts::reply))
        .route("/website", get(website::pools))
        .route("/website/{id}", get(website::pool))
        .route("/settings", get(settings::show))
        .route("/settings/terms", post(settings::save_terms))
        .route("/team", get(team::list).post(team::invite))
        .route("/team/invitations/{user}/withdraw", post(team::withdraw))
        .route("/password/forgot", get(sign_in::forgot_form).post(sign_in::forgot))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/two-factor", post(account::begin))
        .route("/account/two-factor/confirm", post(account::confirm))
        .route("/account/two-factor/recovery-codes", post(account::renew_codes))
        .route("/account/two-factor/off", post(account::turn_off))
        .route("/account/sign-out-everywhere", post(account::sign_out_everywhere))
        .route("/business", post(businesses::switch))
        .route("/businesses/new", get(businesses::new_form))
        .route("/businesses", get(businesses::list).post(businesses::create))
        .route(assets::ROUTE, get(assets::serve))
        // Forms are small; what is larger is refused before it is read (as the API does).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The largest form the app reads, as the API's largest body.
const MAX_FORM_BYTES: usize = 1024 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS_POLICY));
    response
}

/// The app uses none of the browser's powerful features; no page (or anything it embeds)
/// may ask for them.
const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), midi=(), display-capture=()";

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_is_the_public_urls_scheme_host_and_port() {
        assert_eq!(super::origin_of("https://calls.acme.test/"), "https://calls.acme.test");
        assert_eq!(super::origin_of("http://127.0.0.1:8080/ringtrack/"), "http://127.0.0.1:8080");
    }
}
