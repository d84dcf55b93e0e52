//! Signing in and out, the links that set a password, and the first start's welcome.

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ringtrack_core::people::{self, ClaimError, LinkError, SignIn, SignInError};
use ringtrack_core::team::{self, ResetError};
use ringtrack_domain::people::{Email, Password, Token};
use serde::Deserialize;

use crate::WebState;
use crate::layout::{alert, html_page, plain_page, unavailable};
use crate::session::{self, NoFields, Posted};

/// The field where a person chooses a password, bounded as the domain bounds it.
fn new_password(label: &str, described_by: Option<&str>) -> Markup {
    html! {
        label for="password" { (label) }
        input id="password" name="password" type="password" autocomplete="new-password" required
            minlength=(Password::MIN_CHARS) maxlength=(Password::MAX_CHARS) aria-describedby=[described_by];
    }
}

pub async fn home() -> Redirect {
    Redirect::to("/calls")
}

fn login_page(status: StatusCode, error: Option<&str>, email: &str) -> Response {
    html_page(
        status,
        plain_page(
            "Sign in",
            html! {
                section.card {
                    h1 { "Sign in" }
                    (alert(error, "login-error"))
                    form method="post" action="/login" {
                        label for="email" { "Email" }
                        input id="email" name="email" type="email" autocomplete="username" required value=(email)
                            aria-describedby=[error.map(|_| "login-error")];
                        label for="password" { "Password" }
                        input id="password" name="password" type="password" autocomplete="current-password" required;
                        button.primary type="submit" { "Sign in" }
                    }
                    p.aside { a href="/password/forgot" { "Forgot your password?" } }
                }
            },
        ),
    )
}

pub async fn login_form() -> Response {
    login_page(StatusCode::OK, None, "")
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Err(refused) = session::check_same_origin(&headers, &state) {
        return refused.into_response();
    }
    let (Ok(email), Ok(password)) =
        (Email::parse("email", &form.email), Password::parse("password", &form.password))
    else {
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("The email or password is not right."),
            &form.email,
        );
    };
    match people::sign_in(&state.store, &email, &password, &peer.ip().to_string()).await {
        Ok(SignIn::Done(signed_in)) => signed_in_response(&signed_in.token, &state),
        Ok(SignIn::SecondFactor { wait }) => second_factor_page(StatusCode::OK, None, &wait),
        Err(error) => sign_in_refused(error, form.email.trim()),
    }
}

fn sign_in_refused(error: SignInError, email: &str) -> Response {
    match error {
        SignInError::Refused => {
            login_page(StatusCode::UNPROCESSABLE_ENTITY, Some("The email or password is not right."), email)
        }
        SignInError::TooManyAttempts { retry_after } => {
            let message =
                format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1));
            let mut response = login_page(StatusCode::TOO_MANY_REQUESTS, Some(&message), email);
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.as_secs().max(1).into());
            response
        }
        SignInError::NoBusiness => login_page(
            StatusCode::FORBIDDEN,
            Some("This account belongs to no business any more. Ask an admin to invite you again."),
            email,
        ),
        SignInError::Store(error) => {
            tracing::error!(%error, "sign-in failed");
            unavailable()
        }
    }
}

fn signed_in_response(token: &Token, state: &WebState) -> Response {
    let mut response = Redirect::to("/calls").into_response();
    let cookie = session::set_cookie(token, state);
    response.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("a cookie is a valid header"));
    response
}

fn second_factor_page(status: StatusCode, error: Option<&str>, wait: &Token) -> Response {
    html_page(
        status,
        plain_page(
            "Two-factor code",
            html! {
                section.card {
                    h1 { "Enter your code" }
                    p { "Open your authenticator app and type the six-digit code for ringtrack, or one of your recovery codes." }
                    (alert(error, "code-error"))
                    form method="post" action="/login/code" {
                        input type="hidden" name="wait" value=(wait.expose());
                        label for="code" { "Code" }
                        input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
                            maxlength="20" aria-describedby=[error.map(|_| "code-error")];
                        button.primary type="submit" { "Verify" }
                    }
                }
            },
        ),
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    wait: String,
    code: String,
}

pub async fn second_factor(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Err(refused) = session::check_same_origin(&headers, &state) {
        return refused.into_response();
    }
    let Some(wait) = Token::parse(&form.wait) else { return Redirect::to("/login").into_response() };
    let code: String = form.code.chars().take(20).collect();
    match people::second_factor(&state.store, &state.sealer, &wait, &code, &peer.ip().to_string()).await {
        Ok(signed_in) => signed_in_response(&signed_in.token, &state),
        Err(SignInError::Refused) => second_factor_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("That code is not right, or your sign-in has expired (start again after five minutes)."),
            &wait,
        ),
        Err(error) => sign_in_refused(error, ""),
    }
}

pub async fn logout(State(state): State<WebState>, Posted { signed_in, .. }: Posted<NoFields>) -> Response {
    if let Err(error) = people::sign_out(&state.store, &signed_in.token).await {
        tracing::error!(%error, "sign-out failed");
        return unavailable();
    }
    let mut response = Redirect::to("/login").into_response();
    let cookie = session::clear_cookie(&state);
    response.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("a cookie is a valid header"));
    response
}

fn invitation_page(status: StatusCode, token: &str, error: Option<&str>) -> Response {
    html_page(
        status,
        plain_page(
            "Set your password",
            html! {
                section.card {
                    h1 { "Set your password" }
                    p { "At least " (Password::MIN_CHARS) " characters. A few words you will remember work well." }
                    (alert(error, "password-error"))
                    form method="post" action={"/invitations/" (token)} {
                        (new_password("New password", error.map(|_| "password-error")))
                        button.primary type="submit" { "Set password" }
                    }
                }
            },
        ),
    )
}

pub async fn invitation_form(Path(token): Path<String>) -> Response {
    match Token::parse(&token) {
        Some(token) => invitation_page(StatusCode::OK, token.expose(), None),
        None => spent_link(),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn accept_invitation(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Err(refused) = session::check_same_origin(&headers, &state) {
        return refused.into_response();
    }
    let Some(link) = Token::parse(&token) else { return spent_link() };
    let password = match Password::parse("password", &form.password) {
        Ok(password) => password,
        Err(error) => {
            let message = format!("The password {}.", error.message);
            return invitation_page(StatusCode::UNPROCESSABLE_ENTITY, link.expose(), Some(&message));
        }
    };
    match people::set_password_by_link(&state.store, &link, &password).await {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(LinkError::Spent) => spent_link(),
        Err(LinkError::Store(error)) => {
            tracing::error!(%error, "setting a password failed");
            unavailable()
        }
    }
}

fn welcome_page(status: StatusCode, token: &str, error: Option<&str>, name: &str, email: &str) -> Response {
    html_page(
        status,
        plain_page(
            "Welcome",
            html! {
                section.card {
                    h1 { "Set up your account" }
                    p { "You will be the admin of My Business: you can rename it, invite your team and buy numbers." }
                    (alert(error, "welcome-error"))
                    form method="post" action={"/welcome/" (token)} {
                        label for="name" { "Your name" }
                        input id="name" name="name" type="text" autocomplete="name" required maxlength="200" value=(name);
                        label for="email" { "Email" }
                        input id="email" name="email" type="email" autocomplete="username" required value=(email);
                        (new_password("Password", error.map(|_| "welcome-error")))
                        button.primary type="submit" { "Create my account" }
                    }
                }
            },
        ),
    )
}

pub async fn welcome_form(Path(token): Path<String>) -> Response {
    match Token::parse(&token) {
        Some(token) => welcome_page(StatusCode::OK, token.expose(), None, "", ""),
        None => spent_link(),
    }
}

#[derive(Deserialize)]
pub struct WelcomeForm {
    name: String,
    email: String,
    password: String,
}

/// The first start's link: the first person is made, signed in, and sent to the log.
pub async fn welcome(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<WelcomeForm>,
) -> Response {
    if let Err(refused) = session::check_same_origin(&headers, &state) {
        return refused.into_response();
    }
    let Some(link) = Token::parse(&token) else { return spent_link() };
    let refuse = |message: String| {
        welcome_page(StatusCode::UNPROCESSABLE_ENTITY, link.expose(), Some(&message), &form.name, &form.email)
    };
    let name = match ringtrack_domain::validation::parse_name("name", &form.name, 200) {
        Ok(name) => name,
        Err(error) => return refuse(format!("Your name {}.", error.message)),
    };
    let email = match Email::parse("email", &form.email) {
        Ok(email) => email,
        Err(error) => return refuse(format!("The email {}.", error.message)),
    };
    let password = match Password::parse("password", &form.password) {
        Ok(password) => password,
        Err(error) => return refuse(format!("The password {}.", error.message)),
    };
    match people::claim_owner_link(&state.store, &link, &email, &name, &password).await {
        Ok(_) => {}
        Err(ClaimError::Spent) => return spent_link(),
        Err(ClaimError::EmailTaken) => {
            return refuse("Someone already has this email address; sign in instead.".into());
        }
        Err(ClaimError::Store(error)) => {
            tracing::error!(%error, "setting up the first account failed");
            return unavailable();
        }
    }
    match people::sign_in(&state.store, &email, &password, &peer.ip().to_string()).await {
        Ok(SignIn::Done(signed_in)) => signed_in_response(&signed_in.token, &state),
        Ok(SignIn::SecondFactor { .. }) => Redirect::to("/login").into_response(),
        Err(error) => sign_in_refused(error, email.as_str()),
    }
}

fn spent_link() -> Response {
    html_page(
        StatusCode::NOT_FOUND,
        plain_page(
            "Link expired",
            html! {
                section.card {
                    h1 { "This link has expired or was used already" }
                    p { "Ask the person who invited you to send a new one, or " a href="/login" { "sign in" } "." }
                }
            },
        ),
    )
}

fn forgot_page(status: StatusCode, message: Option<&str>, error: Option<&str>) -> Response {
    html_page(
        status,
        plain_page(
            "Forgot your password",
            html! {
                section.card {
                    h1 { "Forgot your password?" }
                    @if let Some(message) = message {
                        p role="status" { (message) }
                        p { a href="/login" { "Back to sign in" } }
                    } @else {
                        p { "Give the email you sign in with; we send it a link that sets a new password." }
                        (alert(error, "forgot-error"))
                        form method="post" action="/password/forgot" {
                            label for="email" { "Email" }
                            input id="email" name="email" type="email" autocomplete="username" required maxlength="254"
                                aria-describedby=[error.map(|_| "forgot-error")];
                            button.primary type="submit" { "Email me a link" }
                        }
                    }
                }
            },
        ),
    )
}

pub async fn forgot_form() -> Response {
    forgot_page(StatusCode::OK, None, None)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

/// The same answer whether or not the address has an account.
pub async fn forgot(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if let Err(refused) = session::check_same_origin(&headers, &state) {
        return refused.into_response();
    }
    let Ok(email) = Email::parse("email", &form.email) else {
        return forgot_page(StatusCode::UNPROCESSABLE_ENTITY, None, Some("That is not an email address."));
    };
    let asked = team::request_password_reset(
        &state.store,
        &state.mailer,
        &state.public_url,
        &email,
        &peer.ip().to_string(),
    )
    .await;
    match asked {
        Ok(()) => {
            let message =
                format!("If {email} has an account, a link is on its way to it. It works once, for an hour.");
            forgot_page(StatusCode::OK, Some(&message), None)
        }
        Err(ResetError::NoMail) => forgot_page(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(
                "This server does not send email. Ask an admin of your business to invite you again: the new link sets a new password.",
            ),
            None,
        ),
        Err(ResetError::TooManyRequests { retry_after }) => {
            let message =
                format!("Too many requests. Try again in {} seconds.", retry_after.as_secs().max(1));
            let mut response = forgot_page(StatusCode::TOO_MANY_REQUESTS, None, Some(&message));
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.as_secs().max(1).into());
            response
        }
        Err(ResetError::Store(error)) => {
            tracing::error!(%error, "a password reset failed");
            unavailable()
        }
    }
}
