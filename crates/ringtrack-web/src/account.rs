//! The person's own account: two-factor sign-in with an authenticator app.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use ringtrack_core::people::{self, TwoFactorError};
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, alert, app_page, failed, html_page, unavailable};
use crate::session::{NoFields, Posted, SignedIn};

/// Whether two-factor is on, and the way to turn it on.
pub async fn page(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let user = match ringtrack_store::people::by_id(&state.store, signed_in.current.session.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return unavailable(),
        Err(error) => return failed(error, "two-factor setup"),
    };
    let content = html! {
        h1 { "Two-factor sign-in" }
        section.panel {
            @if user.totp_enabled_at.is_some() {
                p { strong { "On." } " Signing in asks for a code from your authenticator app after your password." }
                p { "Lost your phone? Sign in with one of your recovery codes instead of a code." }
            } @else {
                p { "Off. Turn it on so that a stolen password is not enough to reach your calls: after your password, you type a six-digit code from an authenticator app on your phone." }
                form method="post" action="/account/two-factor" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    button.primary type="submit" { "Set up two-factor sign-in" }
                }
            }
        }
    };
    html_page(StatusCode::OK, app_page("Two-factor sign-in", Section::Account, &signed_in, content))
}

/// A new secret for the authenticator app, and the code that proves it was added.
pub async fn begin(State(state): State<WebState>, Posted { signed_in, .. }: Posted<NoFields>) -> Response {
    let user = match ringtrack_store::people::by_id(&state.store, signed_in.current.session.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return unavailable(),
        Err(error) => return failed(error, "two-factor setup"),
    };
    if user.totp_enabled_at.is_some() {
        return axum::response::Redirect::to("/account").into_response();
    }
    match people::begin_two_factor(&state.store, &state.sealer, &user).await {
        Ok(setup) => confirm_page(&signed_in, StatusCode::OK, &setup.secret, &setup.uri, None),
        Err(error) => failed(error, "two-factor setup"),
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
                    "Type this key, or on this phone " a href=(uri) { "open it in your app" } ":"
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

/// Two-factor on: the recovery codes, shown this once.
pub async fn confirm(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<ConfirmForm>,
) -> Response {
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).take(10).collect();
    match people::enable_two_factor(&state.store, &state.sealer, signed_in.current.session.user_id, &code)
        .await
    {
        Ok(codes) => {
            let content = html! {
                h1 { "Two-factor sign-in is on" }
                section.panel {
                    p { strong { "Keep these recovery codes somewhere safe." } " Each signs you in once if you lose your phone. They are shown only now." }
                    ul.recovery-codes aria-label="Recovery codes" { @for code in &codes { li { code { (code) } } } }
                    p { a href="/calls" { "Back to your calls" } }
                }
            };
            html_page(
                StatusCode::OK,
                app_page("Two-factor sign-in is on", Section::Account, &signed_in, content),
            )
        }
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
