//! The business's people, and inviting more (admins only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use ringtrack_core::team::{self, Invitation, TeamError};
use ringtrack_domain::Role;
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, alert, app_page, html_page, role_word, unavailable};
use crate::session::{NoFields, Posted, SignedIn};

/// What the page says after an invitation.
enum Outcome<'a> {
    None,
    /// `joins`: they had an account, and join once they answer.
    Sent {
        email: &'a str,
        joins: bool,
    },
    Added(&'a str),
    Link {
        email: &'a str,
        url: &'a str,
        failure: Option<&'a str>,
        joins: bool,
    },
    Refused(String),
}

async fn page(state: &WebState, signed_in: &SignedIn, status: StatusCode, outcome: Outcome<'_>) -> Response {
    let members = match team::members(&state.store, &signed_in.current).await {
        Ok(members) => members,
        Err(error) => {
            tracing::error!(%error, "could not read the team");
            return unavailable();
        }
    };
    let waiting = match team::waiting(&state.store, &signed_in.current).await {
        Ok(waiting) => waiting,
        Err(error) => {
            tracing::error!(%error, "could not read the invitations waiting");
            return unavailable();
        }
    };
    let zone = crate::calls::zone_of(state, signed_in).await;
    let admin = signed_in.current.membership.role == Role::Admin;
    let content = html! {
        h1 { "Team" }
        (outcome_note(&outcome))
        table.list {
            caption.visually-hidden { "People of this business" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Sign-in" } } }
            tbody {
                @for member in &members {
                    tr {
                        td data-label="Name" { (member.name) }
                        td data-label="Email" { (member.email.as_str()) }
                        td data-label="Role" { (role_word(member.role)) }
                        td data-label="Sign-in" {
                            @if !member.active { "Invited, not yet joined" }
                            @else if member.two_factor { "Password and two-factor" }
                            @else { "Password" }
                        }
                    }
                }
            }
        }
        @if !waiting.is_empty() {
            h2 { "Invitations waiting" }
            p.summary { "People who have an account answer once signed in; an invitation works for 7 days." }
            table.list {
                caption.visually-hidden { "Invitations waiting for an answer" }
                thead { tr { th scope="col" { "Email" } th scope="col" { "Role" } th scope="col" { "Invited by" } th scope="col" { "Until" }
                    @if admin { th scope="col" { span.visually-hidden { "Withdraw" } } } } }
                tbody {
                    @for invitation in &waiting {
                        tr {
                            td data-label="Email" { (invitation.email.as_str()) }
                            td data-label="Role" { (role_word(invitation.role)) }
                            td data-label="Invited by" { (invitation.invited_by) }
                            td data-label="Until" { (invitation.expires_at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p")) }
                            @if admin {
                                td {
                                    form method="post" action={"/team/invitations/" (invitation.user_id) "/withdraw"} {
                                        input type="hidden" name="csrf" value=(signed_in.csrf_token());
                                        button type="submit" aria-label={"Withdraw the invitation of " (invitation.email.as_str())} { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section.panel.invite aria-labelledby="invite-heading" {
                h2 id="invite-heading" { "Invite someone" }
                p { (if state.mailer.is_configured() { "They get an email with a link that sets their password." }
                     else { "This server sends no email: you will be shown a link to pass on." }) }
                form method="post" action="/team" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    label for="invite-name" { "Name" }
                    input id="invite-name" name="name" type="text" required maxlength="200" autocomplete="off";
                    label for="invite-email" { "Email" }
                    input id="invite-email" name="email" type="email" required maxlength="254" autocomplete="off";
                    label for="invite-role" { "Role" }
                    select id="invite-role" name="role" aria-describedby="role-hint" {
                        option value="viewer" { "Viewer" }
                        option value="manager" selected { "Manager" }
                        option value="admin" { "Admin" }
                    }
                    span.hint id="role-hint" { "Viewers read; managers also mark calls and reply to texts; admins also manage numbers, the team and keys." }
                    button.primary type="submit" { "Send invitation" }
                }
            }
        }
    };
    html_page(status, app_page("Team", Section::Team, signed_in, content))
}

fn outcome_note(outcome: &Outcome<'_>) -> Markup {
    html! {
        @match outcome {
            Outcome::None => {},
            Outcome::Sent { email, joins: false } => p.notice role="status" { "Invitation emailed to " strong { (email) } "." },
            Outcome::Sent { email, joins: true } => p.notice role="status" { strong { (email) } " has an account already: we emailed them an invitation to accept once signed in." },
            Outcome::Added(email) => p.notice role="status" { strong { (email) } " is a member already: their role is now the one you chose." },
            Outcome::Link { email, url, failure, joins } => section.notice role="status" {
                @if let Some(failure) = failure { p.error { "The email could not be sent (" (failure) ")." } }
                @if *joins {
                    p { strong { (email) } " has an account already. Send them this link yourself: they open it while signed in to join (it sets no password), for 7 days. It is shown only now:" }
                } @else {
                    p { "Send this link to " strong { (email) } " yourself. It sets their password, works once, for 7 days, and is shown only now:" }
                }
                input.link type="text" readonly value=(url) aria-label="Invitation link";
            },
            Outcome::Refused(message) => (alert(Some(message), "invite-error")),
        }
    }
}

pub async fn list(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    page(&state, &signed_in, StatusCode::OK, Outcome::None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    name: String,
    email: String,
    role: String,
}

pub async fn invite(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<InviteForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        return page(
            &state,
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            Outcome::Refused("role: must be viewer, manager or admin".into()),
        )
        .await;
    };
    let result = team::invite(
        &state.store,
        &state.mailer,
        &state.public_url,
        &signed_in.current,
        &form.email,
        &form.name,
        role,
    )
    .await;
    let email = form.email.trim();
    match result {
        Ok(Invitation::Emailed { joins }) => {
            page(&state, &signed_in, StatusCode::OK, Outcome::Sent { email, joins }).await
        }
        Ok(Invitation::Added) => page(&state, &signed_in, StatusCode::OK, Outcome::Added(email)).await,
        Ok(Invitation::Link { url, failure, joins }) => {
            let outcome = Outcome::Link { email, url: &url, failure: failure.as_deref(), joins };
            page(&state, &signed_in, StatusCode::OK, outcome).await
        }
        Err(TeamError::TooMany { retry_after }) => {
            let message = format!(
                "Too many invitations lately. Try again in {} seconds.",
                retry_after.as_secs().max(1)
            );
            let refused =
                page(&state, &signed_in, StatusCode::TOO_MANY_REQUESTS, Outcome::Refused(message)).await;
            crate::sign_in::retry_later(refused, retry_after.as_secs())
        }
        Err(TeamError::NotAllowed) => crate::session::Forbidden::Role.into_response(),
        Err(TeamError::Invalid(errors)) => {
            page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, Outcome::Refused(errors.to_string()))
                .await
        }
        Err(TeamError::Store(error)) => {
            tracing::error!(%error, "inviting failed");
            unavailable()
        }
    }
}

/// An admin withdraws the invitations waiting for someone: their links stop working.
pub async fn withdraw(
    State(state): State<WebState>,
    Path(user): Path<String>,
    Posted { signed_in, .. }: Posted<NoFields>,
) -> Response {
    let Ok(user) = user.parse() else { return crate::layout::not_found("Invitation") };
    match team::withdraw(&state.store, &signed_in.current, user).await {
        Ok(()) => axum::response::Redirect::to("/team").into_response(),
        Err(TeamError::NotAllowed) => crate::session::Forbidden::Role.into_response(),
        Err(error) => crate::layout::failed(error, "withdrawing an invitation"),
    }
}
