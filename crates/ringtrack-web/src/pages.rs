//! The pages. Each is HTML rendered on the server, usable without script.

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use ringtrack_core::people::{self, ClaimError, LinkError, SignIn, SignInError};
use ringtrack_domain::PhoneNumber;
use ringtrack_domain::calls::CallStatus;
use ringtrack_domain::paging::PageRequest;
use ringtrack_domain::people::{Email, Password, Token};
use ringtrack_store::calls::{self, Call};
use serde::Deserialize;

use crate::WebState;
use crate::assets;
use crate::session::{self, SignedIn};

/// Every page: the header (with the person's business and sign-out when signed in), then
/// the page's own content.
fn page(title: &str, signed_in: Option<&SignedIn>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ringtrack" }
                link rel="stylesheet" href=(assets::stylesheet_url());
            }
            body {
                header.top {
                    a.brand href="/" { "ringtrack" }
                    @if let Some(signed_in) = signed_in {
                        nav aria-label="Main" {
                            a href="/calls" aria-current=[(title == "Calls").then_some("page")] { "Calls" }
                        }
                        span.business { (signed_in.membership.business_name) }
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(signed_in.session.csrf_token);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (content) }
            }
        }
    }
}

/// A form's error, announced to screen readers, with the id its field points at.
fn alert(error: Option<&str>, id: &str) -> Markup {
    html! {
        @if let Some(error) = error {
            p.error role="alert" id=(id) { (error) }
        }
    }
}

/// The field where a person chooses a password, bounded as the domain bounds it.
fn new_password(label: &str, described_by: Option<&str>) -> Markup {
    html! {
        label for="password" { (label) }
        input id="password" name="password" type="password" autocomplete="new-password" required
            minlength=(Password::MIN_CHARS) maxlength=(Password::MAX_CHARS) aria-describedby=[described_by];
    }
}

fn html_page(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(markup.into_string())).into_response()
}

/// What a page answers when the database cannot be read.
pub fn unavailable() -> Response {
    html_page(
        StatusCode::SERVICE_UNAVAILABLE,
        page(
            "Unavailable",
            None,
            html! { h1 { "Something went wrong on our side" } p { "Please try again in a moment." } },
        ),
    )
}

pub async fn home() -> Redirect {
    Redirect::to("/calls")
}

fn login_page(status: StatusCode, error: Option<&str>, email: &str) -> Response {
    html_page(
        status,
        page(
            "Sign in",
            None,
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
        page(
            "Two-factor code",
            None,
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

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed_in.check_csrf(&form.csrf) {
        return refused.into_response();
    }
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
        page(
            "Set your password",
            None,
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
        page(
            "Welcome",
            None,
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
        page(
            "Link expired",
            None,
            html! {
                section.card {
                    h1 { "This link has expired or was used already" }
                    p { "Ask the person who invited you to send a new one, or " a href="/login" { "sign in" } "." }
                }
            },
        ),
    )
}

/// The call log: newest first, the business's time zone.
pub async fn calls(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let business = signed_in.session.business_id;
    let zone = match ringtrack_store::businesses::get(&state.store, business).await {
        Ok(Some(found)) => jiff::tz::TimeZone::get(&found.timezone).unwrap_or(jiff::tz::TimeZone::UTC),
        Ok(None) => return unavailable(),
        Err(error) => {
            tracing::error!(%error, "could not read the business");
            return unavailable();
        }
    };
    let page_of_calls =
        match calls::list(&state.store, business, &Default::default(), &PageRequest::default()).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "could not read the call log");
                return unavailable();
            }
        };
    let content = html! {
        h1 { "Calls" }
        p.summary { (grouped(page_of_calls.total)) " " (if page_of_calls.total == 1 { "call" } else { "calls" }) }
        @if page_of_calls.items.is_empty() {
            p.empty { "No calls yet. Calls to your tracking numbers appear here as they ring." }
        } @else {
            table.calls {
                thead {
                    tr { th scope="col" { "Caller" } th scope="col" { "When" } th scope="col" { "Status" }
                         th scope="col" { "Duration" } th scope="col" { "Source" } th scope="col" { "Campaign" } }
                }
                tbody {
                    @for call in &page_of_calls.items { (call_row(call, &zone)) }
                }
            }
        }
    };
    html_page(StatusCode::OK, page("Calls", Some(&signed_in), content))
}

fn call_row(call: &Call, zone: &jiff::tz::TimeZone) -> Markup {
    let caller = PhoneNumber::parse(&call.caller_number)
        .map_or_else(|_| call.caller_number.clone(), |n| n.national_format());
    let when = call.created_at.to_zoned(zone.clone());
    html! {
        tr {
            td data-label="Caller" { (caller) @if call.first_time_caller { " " span.tag { "first call" } } }
            td data-label="When" { time datetime=(call.created_at) { (when.strftime("%b %-d, %-I:%M %p")) } }
            td data-label="Status" { span class={"status " (call.status.as_str())} { (status_word(call.status)) } }
            td data-label="Duration" { (duration(call.duration_seconds)) }
            td data-label="Source" { (call.utm_source.as_deref().unwrap_or("Direct")) }
            td data-label="Campaign" { (call.utm_campaign.as_deref().unwrap_or("—")) }
        }
    }
}

fn status_word(status: CallStatus) -> &'static str {
    match status {
        CallStatus::InProgress => "In progress",
        CallStatus::Answered => "Answered",
        CallStatus::Missed => "Missed",
        CallStatus::Voicemail => "Voicemail",
    }
}

/// `2:25`, or `1:02:05` past an hour.
fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 { format!("{hours}:{minutes:02}:{rest:02}") } else { format!("{minutes}:{rest:02}") }
}

/// `12,480`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_written_as_people_write_them() {
        assert_eq!(super::duration(145), "2:25");
        assert_eq!(super::duration(3725), "1:02:05");
        assert_eq!(super::grouped(12_480), "12,480");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1_000_000), "1,000,000");
    }
}
