//! Voicemails and web forms: what came in that someone should answer.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use ringtrack_domain::dates::DateRange;
use ringtrack_domain::paging::{Cursor, PageRequest, Position};
use ringtrack_store::forms::{self, FormFilter};
use ringtrack_store::voicemails;
use serde::Deserialize;

use crate::WebState;
use crate::format::{caller, duration, grouped, national};
use crate::layout::{Section, app_page, failed, html_page};
use crate::session::SignedIn;

const PER_PAGE: u32 = 25;

#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
}

impl PageQuery {
    fn request(&self) -> PageRequest {
        let position =
            self.cursor.as_deref().and_then(Cursor::decode).map_or(Position::Offset(0), Position::After);
        PageRequest { limit: PER_PAGE, position }
    }
}

fn shown_as_contact(contact: &ringtrack_domain::dni::FormContact, value: &str) -> bool {
    [&contact.name, &contact.email, &contact.phone].into_iter().flatten().any(|shown| shown == value)
}

fn pager(path: &str, first: bool, next: Option<&Cursor>) -> maud::Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if !first { a href=(path) { "Newest" } }
            @if let Some(next) = next { a rel="next" href={(path) "?cursor=" (next.encode())} { "Older" } }
        }
    }
}

/// Voicemails, newest first: play them, read them, open the call.
pub async fn voicemails(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<PageQuery>,
) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let page = match voicemails::list(
        &state.store,
        signed_in.business(),
        &DateRange::default(),
        None,
        &query.request(),
    )
    .await
    {
        Ok(page) => page,
        Err(error) => return failed(error, "reading voicemails"),
    };
    let content = html! {
        h1 { "Voicemails" }
        p.summary { (grouped(page.total)) (if page.total == 1 { " voicemail" } else { " voicemails" }) }
        @if page.items.is_empty() {
            p.empty { "No voicemails yet. When a call flow takes a message, it is here to play and read." }
        }
        ul.cards {
            @for voicemail in &page.items {
                li.card-item {
                    h2 {
                        a href={"/calls/" (voicemail.call_id)} { (caller(&voicemail.caller_number, voicemail.caller_withheld)) }
                    }
                    p.muted {
                        time datetime=(voicemail.created_at) { (voicemail.created_at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p")) }
                        " · " (duration(voicemail.duration_seconds))
                    }
                    @if voicemail.has_recording {
                        audio controls preload="none" src={"/calls/" (voicemail.call_id) "/audio"}
                            aria-label={"Voicemail from " (caller(&voicemail.caller_number, voicemail.caller_withheld))} {}
                    }
                    p {
                        @match &voicemail.transcription_text {
                            Some(text) if !text.trim().is_empty() => { (text) }
                            _ => span.muted { (if voicemail.has_transcription { "No words were left." } else { "Not transcribed yet." }) },
                        }
                    }
                }
            }
        }
        (pager("/voicemails", query.cursor.is_none(), page.next_cursor.as_ref()))
    };
    html_page(StatusCode::OK, app_page("Voicemails", Section::Voicemails, &signed_in, content))
}

/// Forms sent from the business's pages, newest first, with what was typed and where the
/// visitor came from.
pub async fn forms(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<PageQuery>,
) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let page = match forms::list(&state.store, signed_in.business(), &FormFilter::default(), &query.request())
        .await
    {
        Ok(page) => page,
        Err(error) => return failed(error, "reading forms"),
    };
    let content = html! {
        h1 { "Forms" }
        p.summary { (grouped(page.total)) (if page.total == 1 { " form" } else { " forms" }) }
        @if page.items.is_empty() {
            p.empty { "No forms yet. Forms on pages with the tracking script are captured here with the visit's source." }
        }
        ul.cards {
            @for form in &page.items {
                li.card-item {
                    h2 { (form.contact.name.as_deref().or(form.contact.email.as_deref()).unwrap_or("Someone")) }
                    p.muted {
                        time datetime=(form.created_at) { (form.created_at.to_zoned(zone.clone()).strftime("%b %-d, %-I:%M %p")) }
                        " · " (form.form_name.as_deref().unwrap_or("A form"))
                        " · " (form.attribution.utm_source.as_deref().unwrap_or("Direct"))
                        @if let Some(campaign) = &form.attribution.utm_campaign { " · " (campaign) }
                    }
                    dl.details {
                        @if let Some(email) = &form.contact.email { dt { "Email" } dd.wrap { (email) } }
                        @if let Some(phone) = &form.contact.phone { dt { "Phone" } dd { (national(phone)) } }
                        // What the contact block shows already is not repeated.
                        @for (name, value) in form.fields.iter().filter(|(_, value)| !shown_as_contact(&form.contact, value)) {
                            dt.wrap { (name) } dd.wrap { (value) }
                        }
                        @if let Some(page_url) = &form.page_url { dt { "Page" } dd.wrap { (page_url) } }
                    }
                }
            }
        }
        (pager("/forms", query.cursor.is_none(), page.next_cursor.as_ref()))
    };
    html_page(StatusCode::OK, app_page("Forms", Section::Forms, &signed_in, content))
}
