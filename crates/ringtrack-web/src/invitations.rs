//! Invitations to join a business, for someone who has an account: answered while signed
//! in, from the link the business sent or from the list of those waiting. No password is
//! ever set here: a link made by one business never opens another.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ringtrack_core::people::{self, Answer, AnswerError};
use ringtrack_domain::BusinessId;
use ringtrack_domain::people::Token;
use ringtrack_store::people::Invitation;
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, app_page, failed, html_page, message_page, plain_page, role_word};
use crate::session::{Posted, SignedIn};

/// An invitation's link, opened: join or decline when signed in as its person; otherwise
/// sign in first (and come back here).
pub fn join_page(link: &Token, invitation: &Invitation, signed_in: Option<&SignedIn>) -> Response {
    let action = format!("/invitations/{}/answer", link.expose());
    let title = format!("Join {}", invitation.business_name);
    let content = match signed_in {
        Some(signed_in) if signed_in.current.session.user_id == invitation.user_id => html! {
            section.card {
                h1 { (title) }
                p { (invitation.invited_by) " invited you to " strong { (invitation.business_name) } " as "
                    (role_word(invitation.role).to_lowercase()) "." }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    button.primary type="submit" name="answer" value="accept" { "Join " (invitation.business_name) }
                    button type="submit" name="answer" value="decline" { "Decline" }
                }
            }
        },
        Some(_) => html! {
            section.card {
                h1 { (title) }
                p { "This invitation is for another account. Sign out, then open the link again and sign in with the account it was sent to." }
            }
        },
        None => html! {
            section.card {
                h1 { (title) }
                p { (invitation.invited_by) " invited you to " strong { (invitation.business_name) } ". Sign in with your account to answer." }
                p { a.button.primary href={"/login?next=/invitations/" (link.expose())} { "Sign in to answer" } }
            }
        },
    };
    html_page(StatusCode::OK, plain_page(&title, content))
}

#[derive(Deserialize)]
pub struct AnswerForm {
    answer: String,
}

fn parse_answer(raw: &str) -> Option<Answer> {
    match raw {
        "accept" => Some(Answer::Accept),
        "decline" => Some(Answer::Decline),
        _ => None,
    }
}

/// The answer given on an invitation's link.
pub async fn answer_link(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Posted { signed_in, form }: Posted<AnswerForm>,
) -> Response {
    let (Some(link), Some(answer)) = (Token::parse(&token), parse_answer(&form.answer)) else {
        return gone();
    };
    let answered =
        people::answer_by_link(&state.store, &signed_in.token, &signed_in.current, &link, answer).await;
    after(answer, answered.map(|_| ()))
}

/// Where an answer leads: having joined, the business's dashboard (the session moved
/// there); having declined, the invitations left.
fn after(answer: Answer, answered: Result<(), AnswerError>) -> Response {
    match answered {
        Ok(()) if answer == Answer::Accept => Redirect::to("/dashboard").into_response(),
        Ok(()) => Redirect::to("/invitations").into_response(),
        Err(error) => answer_refused(error),
    }
}

fn gone() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Invitation not found",
        "It has expired, was answered already, or is for someone else.",
    )
}

fn answer_refused(error: AnswerError) -> Response {
    match error {
        AnswerError::Gone => gone(),
        AnswerError::NeedsLink => message_page(
            StatusCode::FORBIDDEN,
            "Open the invitation's link",
            "Your password was set through a link another business gave you, so joining this one needs the link it sent you: open it while signed in.",
        ),
        AnswerError::Store(error) => failed(error, "answering an invitation"),
    }
}

/// The invitations waiting for the signed-in person.
pub async fn list(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let user = match ringtrack_store::people::by_id(&state.store, signed_in.current.session.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return crate::layout::unavailable(),
        Err(error) => return failed(error, "reading a person"),
    };
    let waiting = match people::pending_invitations(&state.store, user.id).await {
        Ok(waiting) => waiting,
        Err(error) => return failed(error, "reading invitations"),
    };
    let content = html! {
        h1 { "Invitations" }
        @if waiting.is_empty() {
            p { "No invitation is waiting for you." }
        } @else {
            ul.invitations {
                @for invitation in &waiting {
                    li.panel {
                        p { (invitation.invited_by) " invited you to " strong { (invitation.business_name) } " as "
                            (role_word(invitation.role).to_lowercase()) "." }
                        form method="post" action="/invitations" {
                            input type="hidden" name="csrf" value=(signed_in.csrf_token());
                            input type="hidden" name="business" value=(invitation.business_id);
                            @if user.password_link_business_id.is_none_or(|via| via == invitation.business_id) {
                                button.primary type="submit" name="answer" value="accept" { "Join " (invitation.business_name) }
                            } @else {
                                p.hint { "To join, open the link " (invitation.business_name) " sent you while signed in: your password was set through another business's link." }
                            }
                            button type="submit" name="answer" value="decline" { "Decline" }
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, app_page("Invitations", Section::Account, &signed_in, content))
}

#[derive(Deserialize)]
pub struct ListAnswerForm {
    business: String,
    answer: String,
}

/// An answer from the list.
pub async fn answer(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<ListAnswerForm>,
) -> Response {
    let (Ok(business), Some(answer)) = (form.business.parse::<BusinessId>(), parse_answer(&form.answer))
    else {
        return gone();
    };
    let answered =
        people::answer_invitation(&state.store, &signed_in.token, &signed_in.current, business, answer).await;
    after(answer, answered)
}
