//! The session cookie and what a request proves with it.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ringtrack_core::people::Current;
use ringtrack_domain::people::Token;
use ringtrack_domain::{Access, BusinessId};

use crate::WebState;

/// The session cookie's name over plain http (a laptop, a test).
pub const COOKIE: &str = "ringtrack_session";
/// Its name when the public URL is https: browsers accept a `__Host-` cookie only when it is
/// `Secure`, for `/`, and from this host alone, so no sibling domain can plant or shadow it.
pub const SECURE_COOKIE: &str = "__Host-ringtrack_session";

/// A signed-in person working in one business.
pub struct SignedIn {
    pub token: Token,
    pub current: Current,
    /// The business's saved reports, which the navigation lists.
    pub saved_reports: Vec<ringtrack_store::saved_reports::SavedReport>,
}

/// Pages for signed-in people send everyone else to `/login`.
pub enum Rejection {
    SignIn,
    Unavailable,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::SignIn => Redirect::to("/login").into_response(),
            Rejection::Unavailable => crate::layout::unavailable(),
        }
    }
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<SignedIn, Rejection> {
        signed_in(&parts.headers, state).await
    }
}

async fn signed_in(headers: &HeaderMap, state: &WebState) -> Result<SignedIn, Rejection> {
    let token = cookie_token(headers, state).ok_or(Rejection::SignIn)?;
    let unavailable = |error: ringtrack_store::StoreError| {
        tracing::error!(%error, "could not read a session");
        Rejection::Unavailable
    };
    let current = ringtrack_core::people::session(&state.store, &token)
        .await
        .map_err(unavailable)?
        .ok_or(Rejection::SignIn)?;
    let saved_reports = ringtrack_core::reports::list(&state.store, current.session.business_id)
        .await
        .map_err(unavailable)?;
    Ok(SignedIn { token, current, saved_reports })
}

/// The person signed in, on a page that anyone may open.
pub async fn optional(headers: &HeaderMap, state: &WebState) -> Option<SignedIn> {
    signed_in(headers, state).await.ok()
}

impl SignedIn {
    /// The business every read and write of this request is scoped to.
    pub fn business(&self) -> BusinessId {
        self.current.session.business_id
    }

    pub fn csrf_token(&self) -> &str {
        &self.current.session.csrf_token
    }

    /// Whether the person's role in this business allows `access` (as an API key's would).
    pub fn may(&self, access: Access) -> bool {
        self.current.membership.role.allows(access)
    }

    /// Refuses (403) a state-changing request without this session's CSRF token, or
    /// from a person whose role may not change things here.
    fn check_write(&self, sent: &str) -> Result<(), Forbidden> {
        self.check_csrf(sent)?;
        if self.may(Access::Write) { Ok(()) } else { Err(Forbidden::Role) }
    }

    /// Refuses (403) a state-changing request without this session's CSRF token.
    fn check_csrf(&self, sent: &str) -> Result<(), Forbidden> {
        if constant_time_eq(sent.as_bytes(), self.csrf_token().as_bytes()) {
            Ok(())
        } else {
            Err(Forbidden::Csrf)
        }
    }
}

/// A sign-in form must be posted from this origin (there is no session yet to carry a
/// token): browsers say where a POST came from in `Origin`, and in `Sec-Fetch-Site`.
pub fn check_same_origin(headers: &HeaderMap, state: &WebState) -> Result<(), Forbidden> {
    let origin_ok =
        headers.get(header::ORIGIN).is_none_or(|origin| origin.as_bytes() == state.origin().as_bytes());
    let site_ok =
        headers.get("sec-fetch-site").is_none_or(|site| matches!(site.as_bytes(), b"same-origin" | b"none"));
    if origin_ok && site_ok { Ok(()) } else { Err(Forbidden::Csrf) }
}

/// The session's CSRF token as a form carries it (a missing one is refused as a wrong
/// one, not as a malformed form).
#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form with nothing to read but its token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// A form a signed-in person posted, its CSRF token checked.
pub struct Posted<F> {
    pub signed_in: SignedIn,
    pub form: F,
}

/// A form that changes the business's data: its CSRF token checked, and the person's
/// role allowed to write (a viewer is refused).
pub struct Writing<F> {
    pub signed_in: SignedIn,
    pub form: F,
}

/// Reads the session and the form (`F` ignores the `csrf` field, read apart), refusing a
/// form without the session's token, and with `write`, a person who may only read.
async fn checked_form<F: serde::de::DeserializeOwned>(
    request: axum::extract::Request,
    state: &WebState,
    write: bool,
) -> Result<(SignedIn, F), Response> {
    let (mut parts, body) = request.into_parts();
    let signed_in =
        SignedIn::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
    let request = axum::extract::Request::from_parts(parts, body);
    let bytes = axum::body::Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
    let token: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField { csrf: String::new() });
    if write { signed_in.check_write(&token.csrf) } else { signed_in.check_csrf(&token.csrf) }
        .map_err(IntoResponse::into_response)?;
    let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
        (StatusCode::UNPROCESSABLE_ENTITY, format!("The form is not complete: {error}")).into_response()
    })?;
    Ok((signed_in, form))
}

impl<F: serde::de::DeserializeOwned> axum::extract::FromRequest<WebState> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &WebState) -> Result<Self, Response> {
        let (signed_in, form) = checked_form(request, state, false).await?;
        Ok(Posted { signed_in, form })
    }
}

impl<F: serde::de::DeserializeOwned> axum::extract::FromRequest<WebState> for Writing<F> {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &WebState) -> Result<Self, Response> {
        let (signed_in, form) = checked_form(request, state, true).await?;
        Ok(Writing { signed_in, form })
    }
}

/// A state-changing request refused.
pub enum Forbidden {
    /// It did not prove it came from this app.
    Csrf,
    /// The person's role may only read here.
    Role,
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        let message = match self {
            Forbidden::Csrf => {
                "This form has expired or came from another site. Go back, reload the page and try again."
            }
            Forbidden::Role => {
                "Your role in this business lets you read, not change. Ask an admin to make you a manager."
            }
        };
        crate::layout::message_page(StatusCode::FORBIDDEN, "Not allowed", message)
    }
}

/// The session's token, from the one session cookie of this server's kind. A request with
/// two (one may have been planted by a sibling site to pin someone to its session) is
/// none.
fn cookie_token(headers: &HeaderMap, state: &WebState) -> Option<Token> {
    let name = cookie_name(state);
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(found, _)| *found == name)
        .map(|(_, value)| value);
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    Token::parse(value)
}

fn cookie_name(state: &WebState) -> &'static str {
    if state.secure() { SECURE_COOKIE } else { COOKIE }
}

/// The cookie that holds a new session.
pub fn set_cookie(token: &Token, state: &WebState) -> String {
    let max_age = ringtrack_core::people::SESSION_ABSOLUTE.as_secs();
    let secure = if state.secure() { "; Secure" } else { "" };
    let name = cookie_name(state);
    format!("{name}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}", token.expose())
}

/// The cookie that ends one.
pub fn clear_cookie(state: &WebState) -> String {
    let secure = if state.secure() { "; Secure" } else { "" };
    let name = cookie_name(state);
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}
