//! The dashboard, a signed-in person's home: the period's figures against the period of the
//! same length before it, each a link to the call log showing exactly those calls. The
//! period is two days in the URL (`date_from`, `date_to`, the business's own days, as the
//! log takes them); the figures are what `/api/v1/dashboard/stats` answers for it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::Access;
use ringtrack_domain::calls::{CallFilter, Dimension};
use ringtrack_domain::dates::DateRange;
use ringtrack_store::analytics::{self, Aggregates, Group, Key, Question};
use ringtrack_store::rollups;
use serde::Deserialize;

use crate::WebState;
use crate::breakdowns::{self, Chart};
use crate::format::{duration, grouped};
use crate::layout::{Section, app_page, failed, html_page};
use crate::period;
use crate::session::SignedIn;

#[derive(Deserialize)]
pub struct PeriodQuery {
    date_from: Option<String>,
    date_to: Option<String>,
}

/// The figures of a period.
struct Figures {
    totals: Aggregates,
    first_time: i64,
}

/// The figures of the days of `range`; `detail`, the period's calls by
/// [`breakdowns::DETAIL`] when the page has it, gives the first-time callers.
async fn figures(
    state: &WebState,
    signed_in: &SignedIn,
    range: DateRange,
    zone: &TimeZone,
    detail: Option<&[Group]>,
) -> Result<Figures, Response> {
    let business = signed_in.business();
    let totals = rollups::totals(&state.store, business, &range)
        .await
        .map_err(|e| failed(e, "reading the figures"))?;
    if let Some(detail) = detail {
        let first_time =
            detail.iter().filter(|g| g.keys[3] == Key::Flag(true)).map(|g| g.aggregates.count).sum();
        return Ok(Figures { totals, first_time });
    }
    let filter = CallFilter { range, ..CallFilter::default() };
    let question = Question {
        business_id: business,
        filter: &filter,
        dimensions: &[Dimension::FirstTime],
        tz: zone,
        unique_callers: false,
    };
    let groups =
        analytics::aggregate(&state.store, &question).await.map_err(|e| failed(e, "reading the figures"))?;
    let first_time =
        groups.iter().find(|g| g.keys.first() == Some(&Key::Flag(true))).map_or(0, |g| g.aggregates.count);
    Ok(Figures { totals, first_time })
}

/// A share as a whole percent.
fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 100 + whole / 2) / whole)
}

/// How a count moved against the previous period: `+12%`, `−3%`, `new` or `no change`.
fn change(now: i64, before: i64) -> String {
    match (now, before) {
        (n, b) if n == b => "no change".into(),
        (_, 0) => "new".into(),
        (n, b) => {
            let moved = ((n - b) * 100) as f64 / b as f64;
            format!("{}{:.0}%", if moved > 0.0 { "+" } else { "−" }, moved.abs())
        }
    }
}

/// How a rate moved, in percentage points.
fn points(now: Option<i64>, before: Option<i64>) -> String {
    match (now, before) {
        (Some(n), Some(b)) if n == b => "no change".into(),
        (Some(n), Some(b)) => format!("{}{} pts", if n > b { "+" } else { "−" }, (n - b).abs()),
        _ => "—".into(),
    }
}

pub async fn page(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Query(query): Query<PeriodQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    // The script following new calls asks for the figures alone.
    let figures_only = headers.get("ringtrack-part").is_some_and(|part| part == "figures");
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let today = crate::period::today_in(&state, &zone);
    let chosen = period::parse(query.date_from.as_deref(), query.date_to.as_deref(), today);
    let (status, period, error) = match chosen {
        Ok(period) => (StatusCode::OK, period.unwrap_or_else(|| period::default_period(today)), None),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, period::default_period(today), Some(error)),
    };
    let (now, before) = match (period.range(&zone), period.previous().range(&zone)) {
        (Ok(now), Ok(before)) => (now, before),
        (Err(error), _) | (_, Err(error)) => return failed(error, "reading a period"),
    };
    // Every question at once: the node groups as many as it has cores, the rest wait. The
    // script following new calls asks for the figures alone.
    let business = signed_in.business();
    let charts: &[Chart] = if figures_only { &[] } else { &Chart::ALL };
    let (before, tables) = futures_util::future::join(
        figures(&state, &signed_in, before, &zone, None),
        breakdowns::tables(&state, business, &zone, period, charts),
    )
    .await;
    let (before, (detail, charts)) = match (before, tables) {
        (Ok(before), Ok(tables)) => (before, tables),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let now = match figures(&state, &signed_in, now, &zone, Some(&detail)).await {
        Ok(now) => now,
        Err(response) => return response,
    };
    let leads = if figures_only {
        html! {}
    } else {
        match crate::leads::table(&state, &signed_in, period, &detail).await {
            Ok(table) => crate::leads::section(&table, period, signed_in.may(Access::Write)),
            Err(response) => return response,
        }
    };
    let log = |filter: &str| format!("/calls?{}{filter}", period.query());
    let (n, b) = (&now.totals, &before.totals);
    let average = |t: &Aggregates| (t.count > 0).then(|| t.total_seconds / t.count);
    // Each count links to the log showing exactly its calls.
    let counts: [(&str, i64, i64, Option<String>); 6] = [
        ("Calls", n.count, b.count, Some(log(""))),
        ("Answered", n.answered, b.answered, Some(log("&status=answered"))),
        ("Missed", n.missed, b.missed, Some(log("&status=missed"))),
        ("Voicemails", n.voicemail, b.voicemail, Some(log("&status=voicemail"))),
        ("Qualified leads", n.qualified, b.qualified, Some(log("&qualified=true"))),
        ("First-time callers", now.first_time, before.first_time, Some(log("&first_time=true"))),
    ];
    let previous = period.previous();
    let content = html! {
        h1 { "Dashboard" }
        (period::picker("/dashboard", period, today, error.as_deref()))
        p.summary { "From " (period.first.strftime("%b %-d, %Y")) " to " (period.last.strftime("%b %-d, %Y"))
            ", against the " (period.days()) " days before (" (previous.first.strftime("%b %-d")) "–" (previous.last.strftime("%b %-d")) ")." }
        dl.figures id="figures" data-live="/calls/live" aria-live="polite" {
            @for (label, value, was, href) in &counts {
                div.figure {
                    dt { (label) }
                    dd {
                        @match href {
                            Some(href) => a href=(href) { (grouped(value.unsigned_abs())) },
                            None => span { (grouped(value.unsigned_abs())) },
                        }
                        " " span.change { (change(*value, *was)) }
                    }
                }
            }
            div.figure {
                dt { "Answer rate" }
                dd {
                    a href=(log("&status=answered")) { (percent(n.answered, n.count).map_or("—".to_owned(), |p| format!("{p}%"))) }
                    " " span.change { (points(percent(n.answered, n.count), percent(b.answered, b.count))) }
                }
            }
            div.figure {
                dt { "Average duration" }
                dd {
                    a href=(log("")) { (average(n).map_or("—".to_owned(), duration)) }
                    " " span.change { (match (average(n), average(b)) { (Some(x), Some(y)) => change(x, y), _ => "—".into() }) }
                }
            }
        }
        @if n.count == 0 && b.count == 0 {
            (first_steps())
        } @else {
            (leads)
            div.charts {
                @for (chart, table) in &charts { (breakdowns::section(*chart, period, table)) }
            }
        }
    };
    html_page(status, app_page("Dashboard", Section::Dashboard, &signed_in, content))
}

/// What a business with no calls yet does next, instead of empty figures.
fn first_steps() -> Markup {
    html! {
        section.panel aria-labelledby="first-steps" {
            h2 id="first-steps" { "No calls yet" }
            ol.steps {
                li { "Buy a tracking number and choose where it rings (" a href="/docs" { "the API" } " for now)." }
                li { "Put the tracking script on your website: " a href="/website" { "Website tracking" } "." }
                li { "Place a test call (the sandbox carrier: " code { "POST /api/v1/sandbox/calls" } ") and watch it arrive in " a href="/calls" { "Calls" } "." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_people_say_them() {
        assert_eq!(change(12, 10), "+20%");
        assert_eq!(change(5, 10), "−50%");
        assert_eq!(change(3, 0), "new");
        assert_eq!(change(0, 0), "no change");
        assert_eq!(points(Some(80), Some(75)), "+5 pts");
        assert_eq!(points(None, Some(75)), "—");
    }
}
