//! Working in several businesses: all of them at a glance (the agency view), switching
//! between them, and an agency admin adding a client's.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ringtrack_core::people::{self, NewBusinessError};
use ringtrack_domain::BusinessId;
use serde::Deserialize;

use crate::WebState;
use crate::layout::{Section, alert, app_page, failed, html_page, message_page, unavailable};
use crate::period::{self, Period};
use crate::session::{Posted, SignedIn};
use crate::table::{Column, Sort};

#[derive(Deserialize)]
pub struct SwitchForm {
    business: String,
    /// The page to open in the business (a page of this app; the call log without one).
    next: Option<String>,
}

/// A page of this app to go to, never another site's (`//evil.test`, `/\\evil.test`).
fn own_page(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() <= 2000)
        .unwrap_or("/calls")
}

pub async fn switch(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<SwitchForm>,
) -> Response {
    let Ok(to) = form.business.parse::<BusinessId>() else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Business not found",
            "You do not belong to that business.",
        );
    };
    match people::switch_business(&state.store, &signed_in.token, &signed_in.current, to).await {
        Ok(true) => Redirect::to(own_page(form.next.as_deref())).into_response(),
        Ok(false) => {
            message_page(StatusCode::NOT_FOUND, "Business not found", "You do not belong to that business.")
        }
        Err(error) => {
            tracing::error!(%error, "switching business failed");
            unavailable()
        }
    }
}

fn new_page(
    signed_in: &SignedIn,
    status: StatusCode,
    name: &str,
    timezone: &str,
    error: Option<&str>,
) -> Response {
    let content = html! {
        h1 { "Add a client business" }
        section.panel {
            p { "A business has its own numbers, call flows, calls and team. You will be its admin; switch to it from the business menu." }
            (alert(error, "business-error"))
            form method="post" action="/businesses" {
                input type="hidden" name="csrf" value=(signed_in.csrf_token());
                label for="name" { "Business name" }
                input id="name" name="name" type="text" required maxlength="200" value=(name)
                    aria-describedby=[error.map(|_| "business-error")];
                label for="timezone" { "Time zone" }
                input id="timezone" name="timezone" type="text" required maxlength="64" value=(timezone)
                    aria-describedby="timezone-hint";
                span.hint id="timezone-hint" { "Where the business is, such as America/Chicago: its days and hours in reports." }
                button.primary type="submit" { "Add business" }
            }
        }
    };
    html_page(status, app_page("Add a client business", Section::Businesses, signed_in, content))
}

pub async fn new_form(signed_in: SignedIn) -> Response {
    new_page(&signed_in, StatusCode::OK, "", "America/Chicago", None)
}

#[derive(Deserialize)]
pub struct NewBusinessForm {
    name: String,
    timezone: String,
}

pub async fn create(
    State(state): State<WebState>,
    Posted { signed_in, form }: Posted<NewBusinessForm>,
) -> Response {
    match people::add_business(&state.store, &signed_in.token, &signed_in.current, &form.name, &form.timezone)
        .await
    {
        Ok(_) => Redirect::to("/calls").into_response(),
        Err(NewBusinessError::NotAdmin) => crate::session::Forbidden::Role.into_response(),
        Err(NewBusinessError::Invalid(errors)) => new_page(
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.name,
            &form.timezone,
            Some(&errors.to_string()),
        ),
        Err(NewBusinessError::Store(error)) => {
            tracing::error!(%error, "adding a business failed");
            unavailable()
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    date_from: Option<String>,
    date_to: Option<String>,
    sort: Option<String>,
}

/// A business's line in the agency view.
struct Line {
    id: BusinessId,
    name: String,
    calls: i64,
    qualified: i64,
    answer_rate: Option<f64>,
    missed: i64,
}

const LINE_COLUMNS: [(&str, &str); 5] = [
    ("business", "Business"),
    ("count", "Calls"),
    ("qualified", "Qualified leads"),
    ("answer_rate", "Answer rate"),
    ("missed", "Missed"),
];

/// `GET /businesses`: every business the person belongs to with its figures for the
/// period (each in its own days), sortable; each opens that business's dashboard.
pub async fn list(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let today = crate::period::today_in(&state, &zone);
    // Days given are each business's own days; without them, each business's own last
    // 30 days (its today may not be the person's).
    let (status, asked, error) =
        match period::parse(query.date_from.as_deref(), query.date_to.as_deref(), today) {
            Ok(p) => (StatusCode::OK, p, None),
            Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(error)),
        };
    let mut lines = Vec::with_capacity(signed_in.current.memberships.len());
    for membership in &signed_in.current.memberships {
        match line(&state, membership.business_id, &membership.business_name, asked).await {
            Ok(line) => lines.push(line),
            Err(error) => return failed(error, "reading a business's figures"),
        }
    }
    let sort = Sort::parse(query.sort.as_deref().unwrap_or("-count"));
    sort_lines(&mut lines, &sort);
    let days = asked.map(|p| format!("{}&", p.query())).unwrap_or_default();
    let href = |word: &str| format!("/businesses?{days}sort={}", crate::calls::encode(word));
    let content = html! {
        h1 { "All businesses" }
        (period::presets_nav("/businesses", &[("sort", sort.word())], asked, today, false))
        (alert(error.as_deref(), "period-error"))
        p.summary {
            @match asked {
                Some(days) => { (days.words()) ", each business in its own time zone." }
                None => "The last 30 days, each business in its own time zone."
            }
        }
        table.list.numbers {
            caption.visually-hidden { "Your businesses and their calls; choose a column's heading to sort by it" }
            thead { tr {
                @for (name, label) in LINE_COLUMNS {
                    (crate::table::header(&Column::new(name, label), Some((&sort, &href))))
                }
            } }
            tbody {
                @for line in &lines {
                    tr {
                        th scope="row" data-label="Business" {
                            form.open method="post" action="/business" {
                                input type="hidden" name="csrf" value=(signed_in.csrf_token());
                                input type="hidden" name="business" value=(line.id);
                                input type="hidden" name="next" value={"/dashboard" @if let Some(days) = asked { "?" (days.query()) }};
                                button.link type="submit" { (line.name) }
                            }
                        }
                        td.number data-label="Calls" { (crate::format::grouped(line.calls.unsigned_abs())) }
                        td.number data-label="Qualified leads" { (crate::format::grouped(line.qualified.unsigned_abs())) }
                        td.number data-label="Answer rate" { (line.answer_rate.map_or("—".to_owned(), |r| format!("{r:.1}%"))) }
                        td.number data-label="Missed" { (crate::format::grouped(line.missed.unsigned_abs())) }
                    }
                }
            }
        }
    };
    html_page(status, app_page("All businesses", Section::Businesses, &signed_in, content))
}

async fn line(state: &WebState, id: BusinessId, name: &str, period: Option<Period>) -> Result<Line, String> {
    let business = ringtrack_store::businesses::get(&state.store, id).await.map_err(|e| e.to_string())?;
    let zone =
        business.and_then(|b| jiff::tz::TimeZone::get(&b.timezone).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
    let period = period.unwrap_or_else(|| period::default_period(crate::period::today_in(state, &zone)));
    let range = period.range(&zone)?;
    let totals =
        ringtrack_store::rollups::totals(&state.store, id, &range).await.map_err(|e| e.to_string())?;
    Ok(Line {
        id,
        name: name.to_owned(),
        calls: totals.count,
        qualified: totals.qualified,
        answer_rate: (totals.count > 0)
            .then(|| (totals.answered as f64 * 1000.0 / totals.count as f64).round() / 10.0),
        missed: totals.missed,
    })
}

fn sort_lines(lines: &mut [Line], sort: &Sort) {
    lines.sort_by(|a, b| {
        let order = match sort.column.as_str() {
            "business" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "qualified" => a.qualified.cmp(&b.qualified),
            "answer_rate" => a.answer_rate.partial_cmp(&b.answer_rate).unwrap_or(std::cmp::Ordering::Equal),
            "missed" => a.missed.cmp(&b.missed),
            _ => a.calls.cmp(&b.calls),
        };
        if sort.descending { order.reverse() } else { order }
    });
}
