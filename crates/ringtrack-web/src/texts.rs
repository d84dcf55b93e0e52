//! Texts, threaded by contact: the conversations, one conversation, and a reply with a
//! segment counter (the server counts, as it charges: one rule, in the domain).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use ringtrack_core::texts::{self, OutgoingText, TextError};
use ringtrack_domain::calls::Direction;
use ringtrack_domain::paging::{PageRequest, Position};
use ringtrack_domain::sms::{Encoding, MAX_BODY_CHARS, Status, segments};
use ringtrack_domain::{Access, PhoneNumber};
use ringtrack_store::messages::{self, Message, MessageFilter};
use serde::Deserialize;

use crate::WebState;
use crate::format::national;
use crate::layout::{Section, alert, app_page, failed, html_page, not_found};
use crate::session::{SignedIn, Writing};

/// Conversations listed, and messages shown of one.
const MAX_CONVERSATIONS: u32 = 200;
const MAX_MESSAGES: u32 = 200;

/// Every conversation, the most recent first.
pub async fn list(State(state): State<WebState>, signed_in: SignedIn) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let conversations =
        match messages::conversations(&state.store, signed_in.business(), MAX_CONVERSATIONS).await {
            Ok(found) => found,
            Err(error) => return failed(error, "reading conversations"),
        };
    let content = html! {
        h1 { "Texts" }
        @if conversations.is_empty() {
            p.empty { "No texts yet. Texts to your tracking numbers, and replies, appear here." }
        } @else {
            ul.conversations {
                @for conversation in &conversations {
                    li {
                        a href={"/texts/" (conversation.contact)} {
                            strong { (national(&conversation.contact)) }
                            @if conversation.opted_out { " " span.tag { "opted out" } }
                        }
                        span.muted {
                            (conversation.messages) (if conversation.messages == 1 { " message" } else { " messages" })
                            " · last " (conversation.last_at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p"))
                        }
                    }
                }
            }
        }
    };
    html_page(StatusCode::OK, app_page("Texts", Section::Texts, &signed_in, content))
}

/// One conversation and the reply box.
pub async fn conversation(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Path(contact): Path<String>,
) -> Response {
    show(&state, &signed_in, &contact, StatusCode::OK, None, "").await
}

async fn show(
    state: &WebState,
    signed_in: &SignedIn,
    contact: &str,
    status: StatusCode,
    error: Option<&str>,
    draft: &str,
) -> Response {
    let Ok(contact) = PhoneNumber::parse(contact) else { return not_found("Conversation") };
    let zone = crate::calls::zone_of(state, signed_in).await;
    let filter = MessageFilter { contact: Some(contact.clone()), ..Default::default() };
    let request = PageRequest { limit: MAX_MESSAGES, position: Position::Offset(0) };
    let page = match messages::list(&state.store, signed_in.business(), &filter, &request).await {
        Ok(page) => page,
        Err(error) => return failed(error, "reading a conversation"),
    };
    if page.items.is_empty() {
        return not_found("Conversation");
    }
    let opted_out = match messages::is_opted_out(&state.store, signed_in.business(), &contact).await {
        Ok(opted_out) => opted_out,
        Err(error) => return failed(error, "reading an opt-out"),
    };
    // Replies go from the number the contact last dealt with.
    let from_number = page.items.iter().find_map(|m| m.number_id);
    let title = contact.national_format();
    let content = html! {
        h1 { (title) @if opted_out { " " span.tag { "opted out" } } }
        @if page.total > u64::from(MAX_MESSAGES) { p.summary { "The latest " (MAX_MESSAGES) " of " (page.total) " messages." } }
        ol.thread aria-label="Messages" {
            @for message in page.items.iter().rev() { (bubble(message, &zone)) }
        }
        @if opted_out {
            p.notice { "This contact texted STOP: nothing can be sent to them until they text START." }
        } @else if signed_in.may(Access::Write) {
            @if let Some(from_number) = from_number {
                form.reply method="post" action={"/texts/" (contact.as_str())} {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    input type="hidden" name="from_number_id" value=(from_number);
                    (alert(error, "reply-error"))
                    label for="body" { "Reply" }
                    textarea id="body" name="body" rows="3" required maxlength=(MAX_BODY_CHARS)
                        aria-describedby="segments" data-segments="/texts/segments" { (draft) }
                    output id="segments" for="body" aria-live="polite" { (segment_note(draft)) }
                    button.primary type="submit" { "Send" }
                }
            }
        }
    };
    html_page(status, app_page(&title, Section::Texts, signed_in, content))
}

fn bubble(message: &Message, zone: &jiff::tz::TimeZone) -> Markup {
    let inbound = message.direction == Direction::Inbound;
    let when = message.created_at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p").to_string();
    html! {
        li class={"message " (if inbound { "in" } else { "out" })} {
            span.visually-hidden { (if inbound { "They wrote" } else { "You wrote" }) }
            p { (message.body) }
            span.meta {
                time datetime=(message.created_at) { (when) }
                @if !inbound { " · " (status_word(message.status)) }
                @if let Some(error) = &message.error { " · " (error) }
            }
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Queued => "Queued",
        Status::Sent => "Sent",
        Status::Delivered => "Delivered",
        Status::Failed => "Failed",
        Status::Received => "Received",
    }
}

/// `1 segment · 23 characters` (what the counter shows, from the domain's count).
fn segment_note(body: &str) -> String {
    if body.is_empty() {
        return format!("Up to {MAX_BODY_CHARS} characters; 160 fit in one segment.");
    }
    let counted = segments(body);
    let chars = body.chars().count();
    let kind = match counted.encoding {
        Encoding::Gsm7 => "",
        Encoding::Ucs2 => " (special characters: 70 a segment)",
    };
    let plural = if counted.count == 1 { "segment" } else { "segments" };
    format!("{} {plural} · {chars} characters{kind}", counted.count)
}

#[derive(Deserialize)]
pub struct SegmentsQuery {
    #[serde(default)]
    body: String,
}

/// The counter's text for a draft (the reply box asks as the person types).
pub async fn count(_signed_in: SignedIn, Query(query): Query<SegmentsQuery>) -> Response {
    let body: String = query.body.chars().take(MAX_BODY_CHARS + 1).collect();
    ([(axum::http::header::CACHE_CONTROL, "no-store")], segment_note(&body)).into_response()
}

#[derive(Deserialize)]
pub struct ReplyForm {
    from_number_id: String,
    body: String,
}

pub async fn reply(
    State(state): State<WebState>,
    Path(contact): Path<String>,
    Writing { signed_in, form }: Writing<ReplyForm>,
) -> Response {
    let Ok(to) = PhoneNumber::parse(&contact) else { return not_found("Conversation") };
    let sent = send(&state, &signed_in, &to, &form).await;
    match sent {
        Ok(()) => Redirect::to(&format!("/texts/{}", to.as_str())).into_response(),
        Err(TextError::Store(error)) => failed(error, "sending a text"),
        Err(refused) => {
            let message = refused.to_string();
            show(&state, &signed_in, &contact, StatusCode::UNPROCESSABLE_ENTITY, Some(&message), &form.body)
                .await
        }
    }
}

/// Queues the reply (the core checks the number, the opt-out and the balance, and charges).
async fn send(
    state: &WebState,
    signed_in: &SignedIn,
    to: &PhoneNumber,
    form: &ReplyForm,
) -> Result<(), TextError> {
    let from_number = form
        .from_number_id
        .parse()
        .map_err(|_| texts::refused("from_number_id", "is not a number of this business"))?;
    let body = ringtrack_domain::parse_text("body", &form.body, MAX_BODY_CHARS)
        .map_err(|e| TextError::Refused(e.into()))?;
    let mut tx = state.store.begin().await?;
    ringtrack_store::businesses::lock(&mut tx, signed_in.business()).await?;
    let text = OutgoingText { business_id: signed_in.business(), from_number, to, body: &body };
    texts::queue(&mut tx, &state.prices, &text).await?;
    tx.commit().await?;
    Ok(())
}
