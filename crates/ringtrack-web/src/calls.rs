//! The call log and a call's page: who called and was it a lead; what happened on the call.
//! Filters live in the URL (a filtered view can be bookmarked), dates are the business's
//! days, and the CSV download holds exactly what the log shows.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::calls::{CallFilter, CallFilterParams, CallStatus, parse_notes, parse_tags};
use ringtrack_domain::dates::DateRangeParams;
use ringtrack_domain::dni::MAX_PAGE_ADDRESS;
use ringtrack_domain::paging::{Cursor, PageRequest, Position};
use ringtrack_domain::validation::FieldErrors;
use ringtrack_domain::{Access, CallId};
use ringtrack_media::delivery::{self, Stored};
use ringtrack_store::calls::{self, Call, CallChanges};
use ringtrack_store::recordings::{self, Segment};
use serde::Deserialize;

use crate::WebState;
use crate::format::{caller, clock, duration, grouped, money, national_or_dash, plain_words};
use crate::layout::{Section, alert, app_page, failed, html_page, not_found, unavailable};
use crate::session::{SignedIn, Writing};

/// Rows on one page of the log.
const PER_PAGE: u32 = 50;
/// Numbers and flows offered as filters (a business with more types the digits instead).
const MAX_CHOICES: u32 = 500;

/// The log's query string: the API's filter names, so a URL reads the same in both doors.
#[derive(Clone, Default, Deserialize)]
pub struct LogQuery {
    date_from: Option<String>,
    date_to: Option<String>,
    status: Option<String>,
    number_id: Option<String>,
    call_flow_id: Option<String>,
    qualified: Option<String>,
    utm_source: Option<String>,
    utm_campaign: Option<String>,
    source: Option<String>,
    utm_medium: Option<String>,
    first_time: Option<String>,
    landing_page: Option<String>,
    search: Option<String>,
    cursor: Option<String>,
}

impl LogQuery {
    /// A form sends empty fields for "any": they filter nothing.
    fn given(value: &Option<String>) -> Option<String> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn filter(&self, zone: &TimeZone) -> Result<CallFilter, FieldErrors> {
        let params = CallFilterParams {
            status: Self::given(&self.status),
            number_id: Self::given(&self.number_id),
            call_flow_id: Self::given(&self.call_flow_id),
            qualified: Self::given(&self.qualified),
            utm_source: Self::given(&self.utm_source),
            utm_campaign: Self::given(&self.utm_campaign),
            source: Self::given(&self.source),
            utm_medium: Self::given(&self.utm_medium),
            first_time: Self::given(&self.first_time),
            landing_page: Self::given(&self.landing_page),
            search: Self::given(&self.search),
            dates: DateRangeParams {
                date_from: Self::given(&self.date_from),
                date_to: Self::given(&self.date_to),
                ..Default::default()
            },
            ..Default::default()
        };
        CallFilter::parse_in(&params, zone)
    }

    /// The filters as a query string (without the cursor), for links that keep them.
    fn filters_query(&self) -> String {
        let pairs = [
            ("date_from", &self.date_from),
            ("date_to", &self.date_to),
            ("status", &self.status),
            ("number_id", &self.number_id),
            ("call_flow_id", &self.call_flow_id),
            ("qualified", &self.qualified),
            ("utm_source", &self.utm_source),
            ("source", &self.source),
            ("utm_medium", &self.utm_medium),
            ("utm_campaign", &self.utm_campaign),
            ("landing_page", &self.landing_page),
            ("first_time", &self.first_time),
            ("search", &self.search),
        ];
        let kept: Vec<String> = pairs
            .iter()
            .filter_map(|(name, value)| Self::given(value).map(|v| format!("{name}={}", encode(&v))))
            .collect();
        kept.join("&")
    }

    fn value(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn business_zone(state: &WebState, signed_in: &SignedIn) -> Result<TimeZone, Response> {
    match ringtrack_store::businesses::get(&state.store, signed_in.business()).await {
        Ok(Some(found)) => Ok(TimeZone::get(&found.timezone).unwrap_or(TimeZone::UTC)),
        Ok(None) => Err(unavailable()),
        Err(error) => {
            tracing::error!(%error, "could not read the business");
            Err(unavailable())
        }
    }
}

/// The business's time zone for showing times (UTC if it cannot be read: a page still shows).
pub async fn zone_of(state: &WebState, signed_in: &SignedIn) -> TimeZone {
    business_zone(state, signed_in).await.unwrap_or(TimeZone::UTC)
}

/// The call log.
pub async fn log(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<LogQuery>,
) -> Response {
    let zone = match business_zone(&state, &signed_in).await {
        Ok(zone) => zone,
        Err(response) => return response,
    };
    let business = signed_in.business();
    let choices = match Choices::read(&state, &signed_in).await {
        Ok(choices) => choices,
        Err(error) => return failed(error, "reading the filters' choices"),
    };
    let filter = query.filter(&zone);
    let position =
        query.cursor.as_deref().and_then(Cursor::decode).map_or(Position::Offset(0), Position::After);
    let request = PageRequest { limit: PER_PAGE, position };
    let (status, listing) = match &filter {
        Ok(filter) => match calls::list(&state.store, business, filter, &request).await {
            Ok(found) => (StatusCode::OK, Ok(found)),
            Err(error) => return failed(error, "reading the call log"),
        },
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, Err(errors)),
    };
    let filters_query = query.filters_query();
    let csv_href = if filters_query.is_empty() {
        "/calls.csv".to_owned()
    } else {
        format!("/calls.csv?{filters_query}")
    };
    let content = html! {
        div.title-row {
            h1 { "Calls" }
            a.button href=(csv_href) download { "Download CSV" }
        }
        (filter_form(&query, &choices, filter.as_ref().err()))
        @match &listing {
            Err(_) => { p.empty { "Fix the filters above to see calls." } }
            Ok(found) => {
                // The first page follows new calls as they come (the script reads the page
                // again when told they changed); older pages stay as they are.
                p.summary id="summary" aria-live="polite" data-live=[query.cursor.is_none().then_some("/calls/live")] {
                    (grouped(found.total)) " " (if found.total == 1 { "call" } else { "calls" })
                    @if query.cursor.is_some() { ", older ones" }
                }
                div id="log-results" {
                    @if found.items.is_empty() {
                        @if found.total == 0 && filters_query.is_empty() {
                            p.empty { "No calls yet. Calls to your tracking numbers appear here as they ring." }
                        } @else {
                            p.empty { "No calls match these filters." }
                        }
                    } @else {
                        table.list {
                            caption.visually-hidden { "Calls, newest first" }
                            thead { tr {
                                th scope="col" { "Caller" } th scope="col" { "When" } th scope="col" { "Status" }
                                th scope="col" { "Duration" } th scope="col" { "Source" } th scope="col" { "Campaign" }
                                th scope="col" { "Lead" }
                            } }
                            tbody {
                                @for call in &found.items { (call_row(call, &zone)) }
                            }
                        }
                    }
                    nav.pager aria-label="Pages" {
                        @if query.cursor.is_some() {
                            a href={"/calls" @if !filters_query.is_empty() { "?" (filters_query) }} { "Newest calls" }
                        }
                        @if let Some(next) = &found.next_cursor {
                            a rel="next" href={"/calls?" (filters_query) @if !filters_query.is_empty() { "&" } "cursor=" (next.encode())} { "Older calls" }
                        }
                    }
                }
            }
        }
    };
    html_page(status, app_page("Calls", Section::Calls, &signed_in, content))
}

/// The business's numbers and flows, offered as filters.
struct Choices {
    numbers: Vec<(String, String)>,
    flows: Vec<(String, String)>,
}

impl Choices {
    async fn read(state: &WebState, signed_in: &SignedIn) -> ringtrack_store::Result<Choices> {
        let some = PageRequest { limit: MAX_CHOICES, position: Position::Offset(0) };
        let numbers = ringtrack_store::numbers::choices(&state.store, signed_in.business(), MAX_CHOICES)
            .await?
            .into_iter()
            .map(|n| {
                (n.id.to_string(), format!("{} · {}", n.phone_number.national_format(), n.friendly_name))
            })
            .collect();
        let flows = ringtrack_store::call_flows::list(&state.store, signed_in.business(), &some)
            .await?
            .items
            .into_iter()
            .map(|f| (f.id.to_string(), f.name))
            .collect();
        Ok(Choices { numbers, flows })
    }
}

fn filter_form(query: &LogQuery, choices: &Choices, errors: Option<&FieldErrors>) -> Markup {
    let error_of =
        |field: &str| errors.and_then(|e| e.iter().find(|e| e.field == field)).map(|e| e.message.clone());
    let field_error = |field: &str, id: &str| {
        html! { @if let Some(message) = error_of(field) { span.field-error id=(id) { (message) } } }
    };
    let select =
        |id: &str, label: &str, current: &Option<String>, options: &[(String, String)], any: &str| {
            html! {
                div.field {
                    label for=(id) { (label) }
                    select id=(id) name=(id) {
                        option value="" { (any) }
                        @for (value, text) in options {
                            option value=(value) selected[LogQuery::value(current) == value] { (text) }
                        }
                    }
                }
            }
        };
    let statuses: Vec<(String, String)> =
        [CallStatus::Answered, CallStatus::Missed, CallStatus::Voicemail, CallStatus::InProgress]
            .map(|s| (s.as_str().to_owned(), status_word(s).to_owned()))
            .into();
    let leads = [("true".to_owned(), "Leads".to_owned()), ("false".to_owned(), "Not leads".to_owned())];
    let callers = [
        ("true".to_owned(), "First-time callers".to_owned()),
        ("false".to_owned(), "Repeat callers".to_owned()),
    ];
    let text = |id: &str, label: &str, current: &Option<String>, most: usize| {
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(id) type="text" maxlength=(most) value=(LogQuery::value(current))
                    aria-describedby=[error_of(id).map(|_| format!("{id}-error"))];
                (field_error(id, &format!("{id}-error")))
            }
        }
    };
    html! {
        form.filters method="get" action="/calls" role="search" aria-label="Filter calls" {
            @if errors.is_some() { (alert(Some("Some filters are not right; see below."), "filters-error")) }
            div.field {
                label for="date_from" { "From" }
                input id="date_from" name="date_from" type="date" value=(LogQuery::value(&query.date_from))
                    aria-describedby=[error_of("date_from").map(|_| "date_from-error")];
                (field_error("date_from", "date_from-error"))
            }
            div.field {
                label for="date_to" { "To" }
                input id="date_to" name="date_to" type="date" value=(LogQuery::value(&query.date_to))
                    aria-describedby=[error_of("date_to").map(|_| "date_to-error")];
                (field_error("date_to", "date_to-error"))
            }
            (select("status", "Status", &query.status, &statuses, "Any status"))
            (select("number_id", "Number", &query.number_id, &choices.numbers, "Any number"))
            (select("call_flow_id", "Call flow", &query.call_flow_id, &choices.flows, "Any flow"))
            (select("qualified", "Lead", &query.qualified, &leads, "Leads or not"))
            (select("first_time", "Caller", &query.first_time, &callers, "Any caller"))
            (text("source", "Source", &query.source, 200))
            (text("utm_medium", "Medium", &query.utm_medium, 200))
            (text("utm_campaign", "Campaign", &query.utm_campaign, 200))
            (text("landing_page", "Landing page", &query.landing_page, MAX_PAGE_ADDRESS))
            // The API's utm_source, kept when a link gives it (the form offers the source).
            @if let Some(utm_source) = LogQuery::given(&query.utm_source) {
                input type="hidden" name="utm_source" value=(utm_source);
            }
            div.field {
                label for="search" { "Caller's digits" }
                input id="search" name="search" type="text" inputmode="tel" maxlength="20"
                    value=(LogQuery::value(&query.search)) aria-describedby=[error_of("search").map(|_| "search-error")];
                (field_error("search", "search-error"))
            }
            div.actions {
                button.primary type="submit" { "Filter" }
                a href="/calls" { "Clear" }
            }
        }
    }
}

/// One row of the log (also what live updates insert).
pub fn call_row(call: &Call, zone: &TimeZone) -> Markup {
    let when = call.created_at.to_zoned(zone.clone());
    html! {
        tr id={"call-" (call.id)} {
            td data-label="Caller" {
                a href={"/calls/" (call.id)} { (caller(&call.caller_number, call.caller_withheld)) }
                @if call.first_time_caller { " " span.tag { "first call" } }
            }
            td data-label="When" { time datetime=(call.created_at) title=(when.strftime("%A %B %-d %Y, %-I:%M:%S %p %Z")) { (when.strftime("%b %-d, %-I:%M %p")) } }
            td data-label="Status" { (status_badge(call.status)) }
            td data-label="Duration" { (duration(call.duration_seconds)) }
            td data-label="Source" { (call.attributed_source()) }
            td data-label="Campaign" { (call.utm_campaign.as_deref().unwrap_or("—")) }
            td data-label="Lead" { (lead_word(call)) }
        }
    }
}

fn lead_word(call: &Call) -> &'static str {
    match (call.qualified, call.qualified_by_person.is_some()) {
        (true, true) => "Lead (marked)",
        (true, false) => "Lead",
        (false, true) => "Not a lead (marked)",
        (false, false) => "—",
    }
}

fn status_badge(status: CallStatus) -> Markup {
    html! { span class={"status " (status.as_str())} { (status_word(status)) } }
}

fn status_word(status: CallStatus) -> &'static str {
    match status {
        CallStatus::InProgress => "In progress",
        CallStatus::Answered => "Answered",
        CallStatus::Missed => "Missed",
        CallStatus::Voicemail => "Voicemail",
    }
}

/// The log's filters as CSV: every call they select, streamed.
pub async fn csv(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<LogQuery>,
) -> Response {
    let zone = match business_zone(&state, &signed_in).await {
        Ok(zone) => zone,
        Err(response) => return response,
    };
    let filter = match query.filter(&zone) {
        Ok(filter) => filter,
        Err(errors) => return (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()).into_response(),
    };
    let filename = ringtrack_core::csv::calls_filename(state.store.now());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(ringtrack_core::csv::calls(&state.store, signed_in.business(), &filter)),
    )
        .into_response()
}

fn call_id(raw: &str) -> Option<CallId> {
    raw.parse().ok()
}

/// A call's page.
pub async fn call(State(state): State<WebState>, signed_in: SignedIn, Path(id): Path<String>) -> Response {
    let Some(id) = call_id(&id) else { return not_found("Call") };
    let zone = match business_zone(&state, &signed_in).await {
        Ok(zone) => zone,
        Err(response) => return response,
    };
    let call = match calls::get(&state.store, signed_in.business(), id).await {
        Ok(Some(call)) => call,
        Ok(None) => return not_found("Call"),
        Err(error) => return failed(error, "reading a call"),
    };
    let transcription = match recordings::transcription(&state.store, signed_in.business(), id).await {
        Ok(found) => found,
        Err(error) => return failed(error, "reading a transcription"),
    };
    let segments = match transcription.as_ref().map(recordings::Transcription::segments).transpose() {
        Ok(segments) => segments.unwrap_or_default(),
        Err(error) => return failed(error, "reading a transcript's segments"),
    };
    let when = call.created_at.to_zoned(zone.clone());
    let title = caller(&call.caller_number, call.caller_withheld);
    let content = html! {
        header.call-head {
            h1 { (title) }
            p.facts {
                (status_badge(call.status))
                span { (if call.caller_withheld { "Number withheld" } else if call.first_time_caller { "First-time caller" } else { "Repeat caller" }) }
                span { time datetime=(call.created_at) { (when.strftime("%A %b %-d, %-I:%M %p")) } }
                span { (duration(call.duration_seconds)) }
                span { (call.utm_source.as_deref().unwrap_or("Direct")) }
            }
        }
        div.listen {
            section.player aria-labelledby="recording-heading" {
                h2 id="recording-heading" { "Recording" }
                @if call.has_recording {
                    audio id="player" controls preload="metadata" src={"/calls/" (call.id) "/audio"} {
                        a href={"/calls/" (call.id) "/audio"} { "Download the recording" }
                    }
                } @else {
                    p.empty { "No recording for this call." }
                }
            }
            section.transcript aria-labelledby="transcript-heading" {
                h2 id="transcript-heading" { "Transcript" }
                (transcript(&call, transcription.as_ref().map(|t| t.status.as_str()), &segments))
            }
        }
        section aria-labelledby="details-heading" {
            h2 id="details-heading" { "Call" }
            dl.details {
                dt { "Tracking number" } dd { (national_or_dash(call.tracking_number.as_deref())) }
                dt { "Forwarded to" } dd { (national_or_dash(call.destination_number.as_deref())) }
                dt { "Call flow" } dd {
                    (call.call_flow_name.as_deref().unwrap_or("—"))
                    @if let Some(version) = call.call_flow_version { " (version " (version) ")" }
                }
                dt { "Duration" } dd { (duration(call.duration_seconds)) }
                dt { "Cost" } dd { (money(call.cost.get())) }
                @if call.caller_city.is_some() || call.caller_state.is_some() {
                    dt { "Caller's area" } dd {
                        (call.caller_city.as_deref().unwrap_or("")) @if call.caller_city.is_some() && call.caller_state.is_some() { ", " }
                        (call.caller_state.as_deref().unwrap_or(""))
                    }
                }
            }
        }
        section aria-labelledby="attribution-heading" {
            h2 id="attribution-heading" { "Attribution" }
            dl.details {
                dt { "Source" } dd { (call.utm_source.as_deref().unwrap_or("Direct")) }
                dt { "Medium" } dd { (call.utm_medium.as_deref().unwrap_or("—")) }
                dt { "Campaign" } dd { (call.utm_campaign.as_deref().unwrap_or("—")) }
                dt { "Google click id" } dd.wrap { (call.gclid.as_deref().unwrap_or("—")) }
                dt { "Landing page" } dd.wrap { (call.landing_page.as_deref().unwrap_or("—")) }
                dt { "Referrer" } dd.wrap { (call.referrer.as_deref().unwrap_or("—")) }
                dt { "Website visit" } dd.wrap { (call.session_id.as_deref().unwrap_or("Not from a tracked visit")) }
            }
        }
        (lead(&call, &signed_in))
        (notes(&call, &signed_in))
    };
    html_page(StatusCode::OK, app_page(&title, Section::Calls, &signed_in, content))
}

fn transcript(call: &Call, status: Option<&str>, segments: &[Segment]) -> Markup {
    html! {
        @match status {
            None => p.empty { (if call.has_recording { "Not transcribed." } else { "No recording to transcribe." }) },
            Some("pending") => p.empty { "Being transcribed. Reload in a minute." },
            Some("no_speech") => p.empty { "No words were spoken." },
            Some("failed") => p.empty { "The transcription failed." },
            Some(_) => {
                ol.segments {
                    @for segment in segments {
                        li {
                            a.seek href={"/calls/" (call.id) "/audio#t=" (format!("{:.1}", segment.start))} data-at=(format!("{:.2}", segment.start))
                                aria-label={"Play from " (clock(segment.start))} { (clock(segment.start)) }
                            @if let Some(speaker) = &segment.speaker {
                                " " span class={"speaker " (speaker)} { (if speaker == "agent" { "Agent" } else { "Caller" }) }
                            }
                            " " span.text { (segment.text.trim()) }
                        }
                    }
                }
            }
        }
    }
}

fn lead(call: &Call, signed_in: &SignedIn) -> Markup {
    let verdict = match call.qualified_by_person {
        Some(true) => "Marked qualified by a person.",
        Some(false) => "Marked not qualified by a person.",
        None if call.qualified => "Qualified automatically.",
        None => "Not qualified automatically.",
    };
    let action = format!("/calls/{}/verdict", call.id);
    html! {
        section aria-labelledby="lead-heading" {
            h2 id="lead-heading" { "Lead" }
            p.verdict id="verdict" {
                strong { (if call.qualified { "Qualified lead" } else { "Not a lead" }) } " · " (verdict)
            }
            @if let Some(score) = call.ai_score {
                p { "Score " strong { (score) } " of 100" @if let Some(category) = &call.ai_category { " · " (plain_words(category)) } }
            }
            @if !call.ai_reasons.is_empty() {
                ul.reasons { @for reason in &call.ai_reasons { li { (reason) } } }
            }
            @if signed_in.may(Access::Write) {
                div.verdict-buttons {
                    @for (value, label) in [("true", "Mark qualified"), ("false", "Mark not qualified"), ("auto", "Back to automatic")] {
                        @if !(value == "auto" && call.qualified_by_person.is_none()) {
                            form method="post" action=(action) {
                                input type="hidden" name="csrf" value=(signed_in.csrf_token());
                                input type="hidden" name="qualified" value=(value);
                                button type="submit" { (label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn notes(call: &Call, signed_in: &SignedIn) -> Markup {
    html! {
        section aria-labelledby="notes-heading" {
            h2 id="notes-heading" { "Notes and tags" }
            @if signed_in.may(Access::Write) {
                form.notes method="post" action={"/calls/" (call.id) "/notes"} {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    label for="notes" { "Notes" }
                    textarea id="notes" name="notes" rows="4" maxlength=(ringtrack_domain::calls::MAX_NOTES) {
                        (call.notes.as_deref().unwrap_or(""))
                    }
                    label for="tags" { "Tags" }
                    input id="tags" name="tags" type="text" value=(call.tags.join(", ")) aria-describedby="tags-hint";
                    span.hint id="tags-hint" { "Separate tags with commas." }
                    button type="submit" { "Save notes and tags" }
                }
            } @else {
                p { (call.notes.as_deref().unwrap_or("No notes.")) }
                p { @if call.tags.is_empty() { "No tags." } @else { @for tag in &call.tags { span.tag { (tag) } " " } } }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct VerdictForm {
    qualified: String,
}

/// A person's verdict on a call: qualified, not, or back to the automatic one.
pub async fn verdict(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Writing { signed_in, form }: Writing<VerdictForm>,
) -> Response {
    let qualified = match form.qualified.as_str() {
        "true" => Some(true),
        "false" => Some(false),
        "auto" => None,
        _ => {
            return (StatusCode::UNPROCESSABLE_ENTITY, "qualified: must be true, false or auto")
                .into_response();
        }
    };
    change(&state, &signed_in, &id, CallChanges { qualified: Some(qualified), ..Default::default() }).await
}

#[derive(Deserialize)]
pub struct NotesForm {
    notes: String,
    tags: String,
}

pub async fn save_notes(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Writing { signed_in, form }: Writing<NotesForm>,
) -> Response {
    let mut errors = FieldErrors::new();
    let notes = errors.take(parse_notes("notes", &form.notes));
    let tags = errors.take_all(parse_tags("tags", form.tags.split(',').filter(|t| !t.trim().is_empty())));
    let (Some(notes), Some(tags)) = (notes, tags) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()).into_response();
    };
    change(
        &state,
        &signed_in,
        &id,
        CallChanges { notes: Some(notes), tags: Some(tags), ..Default::default() },
    )
    .await
}

/// Writes a person's change through the core, then shows the call again.
async fn change(state: &WebState, signed_in: &SignedIn, id: &str, changes: CallChanges) -> Response {
    let Some(id) = call_id(id) else { return not_found("Call") };
    let result = async {
        let mut tx = state.store.begin().await?;
        let changed = ringtrack_core::calls::change(&mut tx, signed_in.business(), id, changes).await?;
        tx.commit().await?;
        Ok::<_, ringtrack_store::StoreError>(changed)
    }
    .await;
    match result {
        Ok(Some(_)) => Redirect::to(&format!("/calls/{id}")).into_response(),
        Ok(None) => not_found("Call"),
        Err(error) => failed(error, "changing a call"),
    }
}

/// The call's audio for the page's player, with byte ranges so it seeks.
pub async fn audio(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = call_id(&id) else { return StatusCode::NOT_FOUND.into_response() };
    let recording = match recordings::get(&state.store, signed_in.business(), id, None).await {
        Ok(Some(recording)) => recording,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return failed(error, "reading a recording"),
    };
    let stored = Stored::new(&recording.object_key, &recording.sha256, recording.bytes);
    match delivery::audio(&state.recordings, &stored, &headers).await {
        Ok(response) => response.map(Body::from),
        Err(error) => failed(error, "reading a recording's audio"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(super::encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
