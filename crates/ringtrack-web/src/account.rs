//! The person's own account: their password, two-factor sign-in (on, off, new recovery
//! codes) and their sessions. Every change to how they sign in asks for their password
//! again and ends their other sessions.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use ringtrack_core::people::{self, AccountError, Confirmed, TwoFactorError};
use ringtrack_domain::people::Password;
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, alert, app_page, failed, html_page, unavailable};
use crate::session::{self, NoFields, Posted, SignedIn};

/// Which form of the page a message belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Password,
    TwoFactorOn,
    RecoveryCodes,
    TwoFactorOff,
}

impl Form {
    fn id(self) -> &'static str {
        match self {
            Form::Password => "password-error",
            Form::TwoFactorOn => "two-factor-error",
            Form::RecoveryCodes => "codes-error",
            Form::TwoFactorOff => "off-error",
        }
    }
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(State(state): State<WebState>, signed_in: SignedIn, Query(done): Query<Done>) -> Response {
    let notice = match done.done.as_deref() {
        Some("password") => Some("Your password is changed. Every other session was signed out."),
        Some("two-factor-off") => Some("Two-factor sign-in is off. Every other session was signed out."),
        _ => None,
    };
    account_page(&state, &signed_in, StatusCode::OK, notice, None).await
}

async fn account_page(
    state: &WebState,
    signed_in: &SignedIn,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<(Form, &str)>,
) -> Response {
    let user = match ringtrack_store::people::by_id(&state.store, signed_in.current.session.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return unavailable(),
        Err(error) => return failed(error, "reading an account"),
    };
    let error_of = |form: Form| error.filter(|(f, _)| *f == form).map(|(_, message)| message);
    let confirm_field = |form: Form, id: &str| {
        html! {
            label for=(id) { "Your password" }
            input id=(id) name="password" type="password" autocomplete="current-password" required
                maxlength=(Password::MAX_CHARS) aria-describedby=[error_of(form).map(|_| form.id())];
        }
    };
    let csrf = signed_in.csrf_token();
    let content = html! {
        h1 { "Your account" }
        p { "Signed in as " strong { (user.email.as_str()) } "." }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        section.panel aria-labelledby="password-heading" {
            h2 id="password-heading" { "Password" }
            (alert(error_of(Form::Password), Form::Password.id()))
            form method="post" action="/account/password" {
                input type="hidden" name="csrf" value=(csrf);
                label for="current-password" { "Current password" }
                input id="current-password" name="password" type="password" autocomplete="current-password" required
                    maxlength=(Password::MAX_CHARS) aria-describedby=[error_of(Form::Password).map(|_| Form::Password.id())];
                label for="new-password" { "New password" }
                input id="new-password" name="new_password" type="password" autocomplete="new-password" required
                    minlength=(Password::MIN_CHARS) maxlength=(Password::MAX_CHARS) aria-describedby="new-password-hint";
                span.hint id="new-password-hint" { "At least " (Password::MIN_CHARS) " characters. Every other session is signed out." }
                button.primary type="submit" { "Change password" }
            }
        }
        section.panel aria-labelledby="two-factor-heading" {
            h2 id="two-factor-heading" { "Two-factor sign-in" }
            @if user.totp_enabled_at.is_some() {
                p { strong { "On." } " Signing in asks for a code from your authenticator app after your password. Lost your phone? Sign in with a recovery code instead." }
                (alert(error_of(Form::RecoveryCodes), Form::RecoveryCodes.id()))
                form method="post" action="/account/two-factor/recovery-codes" {
                    input type="hidden" name="csrf" value=(csrf);
                    (confirm_field(Form::RecoveryCodes, "codes-password"))
                    button type="submit" { "Make new recovery codes" }
                }
                (alert(error_of(Form::TwoFactorOff), Form::TwoFactorOff.id()))
                form method="post" action="/account/two-factor/off" {
                    input type="hidden" name="csrf" value=(csrf);
                    (confirm_field(Form::TwoFactorOff, "off-password"))
                    button.danger type="submit" { "Turn off two-factor sign-in" }
                }
            } @else {
                p { "Off. Turn it on so that a stolen password is not enough to reach your calls: after your password, you type a six-digit code from an authenticator app on your phone." }
                (alert(error_of(Form::TwoFactorOn), Form::TwoFactorOn.id()))
                form method="post" action="/account/two-factor" {
                    input type="hidden" name="csrf" value=(csrf);
                    (confirm_field(Form::TwoFactorOn, "two-factor-password"))
                    button.primary type="submit" { "Set up two-factor sign-in" }
                }
            }
        }
        section.panel aria-labelledby="sessions-heading" {
            h2 id="sessions-heading" { "Sessions" }
            p { "Signed in on a computer you no longer use, or lost a phone? End every session, this one too." }
            form method="post" action="/account/sign-out-everywhere" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Sign out everywhere" }
            }
        }
        section.panel aria-labelledby="invitations-heading" {
            h2 id="invitations-heading" { "Invitations" }
            p { a href="/invitations" { "Invitations to other businesses" } " waiting for your answer." }
        }
    };
    html_page(status, app_page("Your account", Section::Account, signed_in, content))
}

#[derive(Deserialize)]
pub struct PasswordField {
    password: String,
}

/// The person's password, checked again; or the page with why not.
async fn confirmed(
    state: &WebState,
    signed_in: &SignedIn,
    client: std::net::SocketAddr,
    password: &str,
    form: Form,
) -> Result<Confirmed, Response> {
    let wrong = || ("That is not your password.".to_owned(), StatusCode::UNPROCESSABLE_ENTITY, None);
    let refused = match Password::parse("password", password) {
        Err(_) => wrong(),
        Ok(password) => {
            let user = signed_in.current.session.user_id;
            match people::confirm_password(&state.store, user, &password, &client.ip().to_string()).await {
                Ok(confirmed) => return Ok(confirmed),
                Err(AccountError::WrongPassword) => wrong(),
                Err(AccountError::TooManyAttempts { retry_after }) => (
                    format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1)),
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(retry_after.as_secs()),
                ),
                Err(AccountError::Busy(_)) => (
                    "The server is busy. Try again in a moment.".to_owned(),
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(1),
                ),
                Err(AccountError::Store(error)) => return Err(failed(error, "checking a password")),
            }
        }
    };
    let (message, status, retry_after) = refused;
    let response = account_page(state, signed_in, status, None, Some((form, &message))).await;
    Err(match retry_after {
        Some(seconds) => crate::sign_in::retry_later(response, seconds),
        None => response,
    })
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<WebState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Posted { signed_in, form }: Posted<ChangePasswordForm>,
) -> Result<Response, Response> {
    let new = match Password::parse("new_password", &form.new_password) {
        Ok(new) => new,
        Err(error) => {
            let message = format!("The new password {}.", error.message);
            let error = Some((Form::Password, message.as_str()));
            return Ok(account_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, None, error).await);
        }
    };
    let confirmed = confirmed(&state, &signed_in, client, &form.password, Form::Password).await?;
    Ok(match people::change_password(&state.store, &signed_in.current, &confirmed, &new).await {
        Ok(token) => {
            let mut response = Redirect::to("/account?done=password").into_response();
            let cookie = session::set_cookie(&token, &state);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie.parse().expect("a cookie is a valid header"));
            response
        }
        Err(AccountError::Busy(_)) => {
            let error = Some((Form::Password, "The server is busy. Try again in a moment."));
            let busy = account_page(&state, &signed_in, StatusCode::SERVICE_UNAVAILABLE, None, error).await;
            crate::sign_in::retry_later(busy, 1)
        }
        Err(error) => failed(error, "changing a password"),
    })
}

/// A new secret for the authenticator app, and the code that proves it was added.
pub async fn begin(
    State(state): State<WebState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Posted { signed_in, form }: Posted<PasswordField>,
) -> Result<Response, Response> {
    let confirmed = confirmed(&state, &signed_in, client, &form.password, Form::TwoFactorOn).await?;
    Ok(match people::begin_two_factor(&state.store, &state.sealer, &confirmed).await {
        Ok(setup) => confirm_page(&signed_in, StatusCode::OK, &setup.secret, &setup.uri, None),
        Err(error) => failed(error, "two-factor setup"),
    })
}

/// The `otpauth://` address as a QR code, drawn here as SVG: one square path per dark
/// module, with the quiet zone the standard asks for around it.
fn qr_code(uri: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else { return html! {} };
    let width = code.width();
    const QUIET: usize = 4;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let side = width + 2 * QUIET;
    html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (side) " " (side)} width="200" height="200"
            role="img" aria-label="QR code to scan with your authenticator app" shape-rendering="crispEdges" {
            rect width=(side) height=(side) fill="#fff" {}
            path d=(PreEscaped(path)) fill="#000" {}
        }
    }
}

fn confirm_page(
    signed_in: &SignedIn,
    status: StatusCode,
    secret: &str,
    uri: &str,
    error: Option<&str>,
) -> Response {
    let content = html! {
        h1 { "Set up two-factor sign-in" }
        section.panel {
            ol.steps {
                li { "Open your authenticator app (Google Authenticator, 1Password, Authy…) and add an account." }
                li {
                    "Scan this code with it:"
                    (qr_code(uri))
                    "or type this key (on this phone, " a href=(uri) { "open it in your app" } "):"
                    code.secret id="secret" { (secret) }
                }
                li { "Type the six-digit code the app shows." }
            }
            (alert(error, "code-error"))
            form method="post" action="/account/two-factor/confirm" {
                input type="hidden" name="csrf" value=(signed_in.csrf_token());
                input type="hidden" name="secret" value=(secret);
                input type="hidden" name="uri" value=(uri);
                label for="code" { "Code" }
                input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
                    maxlength="10" aria-describedby=[error.map(|_| "code-error")];
                button.primary type="submit" { "Turn on" }
            }
        }
    };
    html_page(status, app_page("Set up two-factor sign-in", Section::Account, signed_in, content))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    code: String,
    /// Shown again if the code is wrong (the secret is kept sealed on the server; this copy
    /// only redraws the page the person already saw).
    secret: String,
    uri: String,
}

/// The recovery codes, shown this once.
fn codes_page(signed_in: &SignedIn, title: &str, codes: &[String]) -> Response {
    let content = html! {
        h1 { (title) }
        section.panel {
            p { strong { "Keep these recovery codes somewhere safe." } " Each signs you in once if you lose your phone. They are shown only now; every other session was signed out." }
            ul.recovery-codes aria-label="Recovery codes" { @for code in codes { li { code { (code) } } } }
            p { a href="/calls" { "Back to your calls" } }
        }
    };
    html_page(StatusCode::OK, app_page(title, Section::Account, signed_in, content))
}

/// Two-factor on: the recovery codes, shown this once.
pub async fn confirm(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<ConfirmForm>,
) -> Response {
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).take(10).collect();
    let user = signed_in.current.session.user_id;
    match people::enable_two_factor(&state.store, &state.sealer, &signed_in.token, user, &code).await {
        Ok(codes) => codes_page(&signed_in, "Two-factor sign-in is on", &codes),
        Err(TwoFactorError::WrongCode) => {
            let secret: String = form.secret.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
            let uri = if form.uri.starts_with("otpauth://") && form.uri.len() <= 512 {
                form.uri.as_str()
            } else {
                ""
            };
            confirm_page(
                &signed_in,
                StatusCode::UNPROCESSABLE_ENTITY,
                &secret,
                uri,
                Some(
                    "That code is not the one your app shows now. Check the clock on your phone and try the next code.",
                ),
            )
        }
        Err(TwoFactorError::Store(error)) => failed(error, "two-factor setup"),
    }
}

pub async fn renew_codes(
    State(state): State<WebState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Posted { signed_in, form }: Posted<PasswordField>,
) -> Result<Response, Response> {
    let confirmed = confirmed(&state, &signed_in, client, &form.password, Form::RecoveryCodes).await?;
    Ok(match people::renew_recovery_codes(&state.store, &signed_in.token, &confirmed).await {
        Ok(codes) => codes_page(&signed_in, "New recovery codes", &codes),
        Err(error) => failed(error, "renewing recovery codes"),
    })
}

pub async fn turn_off(
    State(state): State<WebState>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    Posted { signed_in, form }: Posted<PasswordField>,
) -> Result<Response, Response> {
    let confirmed = confirmed(&state, &signed_in, client, &form.password, Form::TwoFactorOff).await?;
    Ok(match people::disable_two_factor(&state.store, &signed_in.token, &confirmed).await {
        Ok(()) => Redirect::to("/account?done=two-factor-off").into_response(),
        Err(error) => failed(error, "turning two-factor off"),
    })
}

pub async fn sign_out_everywhere(
    State(state): State<WebState>,
    Posted { signed_in, .. }: Posted<NoFields>,
) -> Response {
    match people::sign_out_everywhere(&state.store, signed_in.current.session.user_id).await {
        Ok(()) => {
            let mut response = Redirect::to("/login").into_response();
            let cookie = session::clear_cookie(&state);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie.parse().expect("a cookie is a valid header"));
            response
        }
        Err(error) => failed(error, "signing out everywhere"),
    }
}
