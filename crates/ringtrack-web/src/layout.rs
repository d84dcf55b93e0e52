//! The frame every page shares: on a desk, a left navigation with the business (and the
//! switcher, for people in several) at the top and the person's menu at the bottom; on a
//! phone the same parts stacked as a bar above the page. Pages that come before signing in
//! get a plain frame.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use ringtrack_domain::Role;

use crate::assets;
use crate::session::SignedIn;

/// A page of the app: which navigation entry it belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Reports,
    Calls,
    Voicemails,
    Texts,
    Forms,
    Website,
    Team,
    Settings,
    Account,
    Businesses,
}

/// The left navigation, in UI.md's order (the sections of later issues join it).
const NAVIGATION: [(Section, &str, &str); 9] = [
    (Section::Dashboard, "/dashboard", "Dashboard"),
    (Section::Reports, "/reports", "Reports"),
    (Section::Calls, "/calls", "Calls"),
    (Section::Voicemails, "/voicemails", "Voicemails"),
    (Section::Texts, "/texts", "Texts"),
    (Section::Forms, "/forms", "Forms"),
    (Section::Website, "/website", "Website tracking"),
    (Section::Team, "/team", "Team"),
    (Section::Settings, "/settings", "Settings"),
];

/// A signed-in page.
pub fn app_page(title: &str, section: Section, signed_in: &SignedIn, content: Markup) -> Markup {
    let current = &signed_in.current;
    document(
        title,
        html! {
            div.app {
                aside.sidebar {
                    a.brand href="/" { "ringtrack" }
                    (business_switcher(signed_in))
                    nav.main aria-label="Main" {
                        @for (entry, href, label) in NAVIGATION {
                            a href=(href) aria-current=[(entry == section).then_some("page")] { (label) }
                            @if entry == Section::Reports && !signed_in.saved_reports.is_empty() {
                                ul.saved aria-label="Saved reports" {
                                    @for report in &signed_in.saved_reports {
                                        li { a href={"/reports?" (report.query)} { (report.name) } }
                                    }
                                }
                            }
                        }
                    }
                    div.person {
                        span.name { (current.session.user_name) }
                        span.role { (role_word(current.membership.role)) }
                        a href="/account" aria-current=[(section == Section::Account).then_some("page")] { "Your account" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(signed_in.csrf_token());
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (content) }
            }
        },
    )
}

/// The business the person works in; with several, a form to switch, and for admins a
/// way to add one.
fn business_switcher(signed_in: &SignedIn) -> Markup {
    let current = &signed_in.current;
    html! {
        div.business {
            @if current.memberships.len() > 1 {
                form method="post" action="/business" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    label for="business" { "Business" }
                    select id="business" name="business" data-autosubmit {
                        @for membership in &current.memberships {
                            option value=(membership.business_id) selected[membership.business_id == current.membership.business_id] {
                                (membership.business_name)
                            }
                        }
                    }
                    button.switch type="submit" { "Switch" }
                }
            } @else {
                span.label { "Business" }
                strong { (current.membership.business_name) }
            }
            @if current.memberships.len() > 1 {
                a.add href="/businesses" { "All businesses" }
            }
            @if current.membership.role == Role::Admin {
                a.add href="/businesses/new" { "Add a client business" }
            }
        }
    }
}

pub fn role_word(role: Role) -> &'static str {
    match role {
        Role::Viewer => "Viewer",
        Role::Manager => "Manager",
        Role::Admin => "Admin",
    }
}

/// A page before signing in (or about it): the brand, then a card.
pub fn plain_page(title: &str, content: Markup) -> Markup {
    document(
        title,
        html! {
            header.plain { a.brand href="/" { "ringtrack" } }
            main id="main" { (content) }
        },
    )
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ringtrack" }
                link rel="stylesheet" href=(assets::url(assets::Asset::Stylesheet));
                script src=(assets::url(assets::Asset::Script)) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (body)
            }
        }
    }
}

/// A form's error, announced to screen readers, with the id its field points at.
pub fn alert(error: Option<&str>, id: &str) -> Markup {
    html! {
        @if let Some(error) = error {
            p.error role="alert" id=(id) { (error) }
        }
    }
}

/// An HTML response that no cache keeps (pages hold a person's data and a CSRF token).
pub fn html_page(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Html(markup.into_string())).into_response()
}

/// A page that only says what happened and what to do.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    html_page(
        status,
        plain_page(
            title,
            html! { section.card { h1 { (title) } p { (message) } p { a href="/calls" { "Back to your calls" } } } },
        ),
    )
}

/// Logs what failed (the detail stays in the log) and answers [`unavailable`].
pub fn failed(error: impl std::fmt::Display, doing: &str) -> Response {
    tracing::error!(%error, "{doing} failed");
    unavailable()
}

/// What a page answers when the database cannot be read.
pub fn unavailable() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong on our side",
        "Please try again in a moment.",
    )
}

/// What a page answers for something the business does not have.
pub fn not_found(what: &str) -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        &format!("{what} not found"),
        "It may have been removed, or it belongs to another business.",
    )
}
