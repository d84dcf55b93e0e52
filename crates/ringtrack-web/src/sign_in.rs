//! Signing in and out, the links that set a password, and the first start's welcome.

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ringtrack_core::people::{self, LinkError, SignIn, SignInError};
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
    Redirect::to("/dashboard")
}

/// Where a sign-in may lead besides the log: an invitation's link (nothing else, so a
/// crafted `next` cannot send anyone off-site or anywhere odd).
fn safe_next(next: Option<&str>) -> Option<&str> {
    let next = next?;
    let token = next.strip_prefix("/invitations/")?;
    Token::parse(token).is_some().then_some(next)
}

fn login_page(status: StatusCode, error: Option<&str>, email: &str, next: Option<&str>) -> Response {
    html_page(
        status,
        plain_page(
            "Sign in",
            html! {
                section.card {
                    h1 { "Sign in" }
                    (alert(error, "login-error"))
                    form method="post" action="/login" {
                        @if let Some(next) = safe_next(next) { input type="hidden" name="next" value=(next); }
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

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

pub async fn login_form(Query(query): Query<Next>) -> Response {
    login_page(StatusCode::OK, None, "", query.next.as_deref())
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
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
    let next = safe_next(form.next.as_deref());
    let (Ok(email), Ok(password)) =
        (Email::parse("email", &form.email), Password::parse("password", &form.password))
    else {
        return login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("The email or password is not right."),
            &form.email,
            next,
        );
    };
    match people::sign_in(&state.store, &email, &password, &peer.ip().to_string()).await {
        Ok(SignIn::Done(signed_in)) => signed_in_response(&signed_in, &state, next).await,
        Ok(SignIn::SecondFactor { wait }) => second_factor_page(StatusCode::OK, None, &wait, next),
        Err(error) => sign_in_refused(error, form.email.trim(), next),
    }
}

/// A refusal with `Retry-After` (too many attempts, or the node is busy hashing).
pub(crate) fn retry_later(mut response: Response, retry_after_seconds: i64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, retry_after_seconds.max(1).into());
    response
}

const BUSY: &str = "The server is busy. Try again in a moment.";

fn sign_in_refused(error: SignInError, email: &str, next: Option<&str>) -> Response {
    match error {
        SignInError::Refused => login_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("The email or password is not right."),
            email,
            next,
        ),
        SignInError::TooManyAttempts { retry_after } => {
            let message =
                format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1));
            retry_later(
                login_page(StatusCode::TOO_MANY_REQUESTS, Some(&message), email, next),
                retry_after.as_secs(),
            )
        }
        SignInError::Busy(_) => {
            retry_later(login_page(StatusCode::SERVICE_UNAVAILABLE, Some(BUSY), email, next), 1)
        }
        SignInError::NoBusiness => login_page(
            StatusCode::FORBIDDEN,
            Some("This account belongs to no business any more. Ask an admin to invite you again."),
            email,
            next,
        ),
        SignInError::Store(error) => {
            tracing::error!(%error, "sign-in failed");
            unavailable()
        }
    }
}

/// Signed in: the cookie, and the way on: the invitation link that led here, else the
/// invitations waiting for the person, else their dashboard.
async fn signed_in_response(signed_in: &people::SignedIn, state: &WebState, next: Option<&str>) -> Response {
    let to = match next {
        Some(next) => next,
        None => match people::pending_invitations(&state.store, signed_in.user.id).await {
            Ok(waiting) if !waiting.is_empty() => "/invitations",
            Ok(_) => "/dashboard",
            Err(error) => {
                tracing::error!(%error, "could not read a person's invitations");
                "/dashboard"
            }
        },
    };
    let mut response = Redirect::to(to).into_response();
    let cookie = session::set_cookie(&signed_in.token, state);
    response.headers_mut().insert(header::SET_COOKIE, cookie.parse().expect("a cookie is a valid header"));
    response
}

fn second_factor_page(status: StatusCode, error: Option<&str>, wait: &Token, next: Option<&str>) -> Response {
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
                        @if let Some(next) = safe_next(next) { input type="hidden" name="next" value=(next); }
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
    next: Option<String>,
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
    let next = safe_next(form.next.as_deref());
    let code: String = form.code.chars().take(20).collect();
    match people::second_factor(&state.store, &state.sealer, &wait, &code, &peer.ip().to_string()).await {
        Ok(signed_in) => signed_in_response(&signed_in, &state, next).await,
        Err(SignInError::Refused) => second_factor_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("That code is not right, or your sign-in has expired (start again after five minutes)."),
            &wait,
            next,
        ),
        Err(error) => sign_in_refused(error, "", next),
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

/// A link from an email or an admin: a password to set, an invitation to answer (signed
/// in as its person), or spent.
pub async fn invitation_form(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(link) = Token::parse(&token) else { return spent_link() };
    match people::password_link_works(&state.store, &link).await {
        Ok(true) => return invitation_page(StatusCode::OK, link.expose(), None),
        Ok(false) => {}
        Err(error) => return crate::layout::failed(error, "reading a link"),
    }
    match people::invitation(&state.store, &link).await {
        Ok(Some(invitation)) => {
            let signed_in = session::optional(&headers, &state).await;
            crate::invitations::join_page(&link, &invitation, signed_in.as_ref())
        }
        Ok(None) => spent_link(),
        Err(error) => crate::layout::failed(error, "reading an invitation"),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
}

pub async fn accept_invitation(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
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
    match people::set_password_by_link(&state.store, &link, &password, &peer.ip().to_string()).await {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(error) => {
            link_refused(error, |status, message| invitation_page(status, link.expose(), Some(message)))
        }
    }
}

/// What a link that did not set a password answers; `page` redraws its form with a message.
fn link_refused(error: LinkError, page: impl Fn(StatusCode, &str) -> Response) -> Response {
    match error {
        LinkError::Spent => spent_link(),
        LinkError::TooManyAttempts { retry_after } => {
            let message =
                format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1));
            retry_later(page(StatusCode::TOO_MANY_REQUESTS, &message), retry_after.as_secs())
        }
        LinkError::Busy(_) => retry_later(page(StatusCode::SERVICE_UNAVAILABLE, BUSY), 1),
        LinkError::EmailTaken => {
            page(StatusCode::UNPROCESSABLE_ENTITY, "Someone already has this email address; sign in instead.")
        }
        LinkError::Store(error) => {
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
    let address = peer.ip().to_string();
    if let Err(error) =
        people::claim_owner_link(&state.store, &link, &email, &name, &password, &address).await
    {
        return link_refused(error, |status, message| {
            welcome_page(status, link.expose(), Some(message), &form.name, &form.email)
        });
    }
    match people::sign_in(&state.store, &email, &password, &address).await {
        Ok(SignIn::Done(signed_in)) => signed_in_response(&signed_in, &state, None).await,
        Ok(SignIn::SecondFactor { .. }) => Redirect::to("/login").into_response(),
        Err(error) => sign_in_refused(error, email.as_str(), None),
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
    let asked =
        team::request_password_reset(&state.store, &state.mailer, &email, &peer.ip().to_string()).await;
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
