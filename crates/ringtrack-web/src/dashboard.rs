//! The dashboard, a signed-in person's home: the period's figures against the period of the
//! same length before it, each a link to the call log showing exactly those calls. The
//! period is two days in the URL (`date_from`, `date_to`, the business's own days, as the
//! log takes them); the figures are what `/api/v1/dashboard/stats` answers for it.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::calls::{CallFilter, Dimension};
use ringtrack_domain::dates::{DateRange, DateRangeParams};
use ringtrack_store::analytics::{self, Aggregates, Key, Question};
use ringtrack_store::rollups;
use serde::Deserialize;

use crate::WebState;
use crate::format::{duration, grouped};
use crate::layout::{Section, alert, app_page, failed, html_page};
use crate::session::SignedIn;

/// The longest period shown: ten years of days.
const MAX_DAYS: i64 = 3660;

#[derive(Deserialize)]
pub struct PeriodQuery {
    date_from: Option<String>,
    date_to: Option<String>,
}

/// A run of whole days, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Period {
    first: Date,
    last: Date,
}

impl Period {
    fn days(self) -> i64 {
        i64::from((self.last - self.first).get_days()) + 1
    }

    /// The period of the same length that ends the day before this one begins.
    fn previous(self) -> Period {
        let last = self.first.yesterday().unwrap_or(self.first);
        let first = last.checked_sub(jiff::Span::new().days(self.days() - 1)).unwrap_or(last);
        Period { first, last }
    }

    /// The call log's words for it.
    fn query(self) -> String {
        format!("date_from={}&date_to={}", self.first, self.last)
    }

    fn range(self, zone: &TimeZone) -> Result<DateRange, String> {
        let params = DateRangeParams {
            date_from: Some(self.first.to_string()),
            date_to: Some(self.last.to_string()),
            ..Default::default()
        };
        DateRange::parse_in(&params, zone).map_err(|errors| errors.to_string())
    }
}

/// The presets, as people name them: today, the last 7 and 30 days, this month, last month.
fn presets(today: Date) -> [(&'static str, Period); 5] {
    let back = |days: i64| today.checked_sub(jiff::Span::new().days(days)).unwrap_or(today);
    let month_start = today.first_of_month();
    let last_month_end = month_start.yesterday().unwrap_or(month_start);
    [
        ("Today", Period { first: today, last: today }),
        ("7 days", Period { first: back(6), last: today }),
        ("30 days", Period { first: back(29), last: today }),
        ("This month", Period { first: month_start, last: today }),
        ("Last month", Period { first: last_month_end.first_of_month(), last: last_month_end }),
    ]
}

/// The period the URL asks for (the last 30 days without one), or what is wrong with it.
fn period(query: &PeriodQuery, today: Date) -> Result<Period, String> {
    let given =
        |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let day = |field: &str, raw: String| {
        raw.parse::<Date>().map_err(|_| format!("{field}: must be a day, like {today}"))
    };
    match (given(&query.date_from), given(&query.date_to)) {
        (None, None) => Ok(presets(today)[2].1),
        (from, to) => {
            let first = from.map_or(Ok(today), |raw| day("date_from", raw))?;
            let last = to.map_or(Ok(today), |raw| day("date_to", raw))?;
            let period = Period { first, last };
            if last < first {
                return Err("date_to: must not be before date_from".into());
            }
            if period.days() > MAX_DAYS {
                return Err(format!("the period must be at most {MAX_DAYS} days"));
            }
            Ok(period)
        }
    }
}

/// The figures of a period.
struct Figures {
    totals: Aggregates,
    first_time: i64,
}

async fn figures(
    state: &WebState,
    signed_in: &SignedIn,
    range: DateRange,
    zone: &TimeZone,
) -> Result<Figures, Response> {
    let business = signed_in.business();
    let totals = rollups::totals(&state.store, business, &range)
        .await
        .map_err(|e| failed(e, "reading the figures"))?;
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
) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let today = state.store.now().to_zoned(zone.clone()).date();
    let chosen = period(&query, today);
    let (status, period, error) = match chosen {
        Ok(period) => (StatusCode::OK, period, None),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, presets(today)[2].1, Some(error)),
    };
    let (now, before) = match (period.range(&zone), period.previous().range(&zone)) {
        (Ok(now), Ok(before)) => (now, before),
        (Err(error), _) | (_, Err(error)) => return failed(error, "reading a period"),
    };
    let (now, before) = match (
        figures(&state, &signed_in, now, &zone).await,
        figures(&state, &signed_in, before, &zone).await,
    ) {
        (Ok(now), Ok(before)) => (now, before),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let log = |filter: &str| format!("/calls?{}{filter}", period.query());
    let (n, b) = (&now.totals, &before.totals);
    let average = |t: &Aggregates| (t.count > 0).then(|| t.total_seconds / t.count);
    // Each count links to the log showing exactly its calls (the log has no first-time
    // filter yet: that count is not a link).
    let counts: [(&str, i64, i64, Option<String>); 6] = [
        ("Calls", n.count, b.count, Some(log(""))),
        ("Answered", n.answered, b.answered, Some(log("&status=answered"))),
        ("Missed", n.missed, b.missed, Some(log("&status=missed"))),
        ("Voicemails", n.voicemail, b.voicemail, Some(log("&status=voicemail"))),
        ("Qualified leads", n.qualified, b.qualified, Some(log("&qualified=true"))),
        ("First-time callers", now.first_time, before.first_time, None),
    ];
    let previous = period.previous();
    let content = html! {
        h1 { "Dashboard" }
        (period_picker(period, today, error.as_deref()))
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
        @if n.count == 0 && b.count == 0 { (first_steps()) }
    };
    html_page(status, app_page("Dashboard", Section::Dashboard, &signed_in, content))
}

fn period_picker(period: Period, today: Date, error: Option<&str>) -> Markup {
    html! {
        nav.periods aria-label="Period" {
            ul {
                @for (label, preset) in presets(today) {
                    li { a href={"/dashboard?" (preset.query())} aria-current=[(preset == period).then_some("page")] { (label) } }
                }
            }
        }
        (alert(error, "period-error"))
        form.period method="get" action="/dashboard" {
            label for="date_from" { "From" }
            input id="date_from" name="date_from" type="date" value=(period.first) aria-describedby=[error.map(|_| "period-error")];
            label for="date_to" { "To" }
            input id="date_to" name="date_to" type="date" value=(period.last);
            button type="submit" { "Show" }
        }
    }
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
    fn presets_and_the_period_before_are_whole_days() {
        let today: Date = "2026-03-10".parse().unwrap();
        let [t, week, month, this, last] = presets(today);
        assert_eq!((t.1.days(), week.1.days(), month.1.days()), (1, 7, 30));
        assert_eq!(
            (this.1.first.to_string(), this.1.last.to_string()),
            ("2026-03-01".into(), "2026-03-10".into())
        );
        assert_eq!(
            (last.1.first.to_string(), last.1.last.to_string()),
            ("2026-02-01".into(), "2026-02-28".into())
        );
        let before = week.1.previous();
        assert_eq!(
            (before.first.to_string(), before.last.to_string()),
            ("2026-02-25".into(), "2026-03-03".into())
        );
        let asked = PeriodQuery { date_from: Some("2026-03-08".into()), date_to: Some("2026-03-01".into()) };
        assert!(period(&asked, today).unwrap_err().starts_with("date_to"));
        let odd = PeriodQuery { date_from: Some("yesterday".into()), date_to: None };
        assert!(period(&odd, today).unwrap_err().starts_with("date_from"));
    }

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
