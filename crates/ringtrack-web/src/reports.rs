//! Reports: the analytics API as a page. Group by up to three fields, choose metrics, a
//! period (all time without one) and optionally the period before it to compare with, and
//! order by any column. The URL — `group_by`, `metrics`, `date_from`, `date_to`, `compare`,
//! `sort` — is the report: opened anywhere it shows the same rows, which are exactly what
//! `/api/v1/analytics/calls` answers for the same question. A report can be kept under a
//! name for the whole business; the navigation lists the kept ones.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use maud::{Markup, html};
use ringtrack_domain::calls::{AnalyticsQuery, CallFilter, Dimension, Metric};
use ringtrack_domain::validation::FieldErrors;
use ringtrack_domain::{Access, ReportId};
use ringtrack_store::analytics::{self, Aggregates, Group, Key, Question};
use serde::Deserialize;

use crate::WebState;
use crate::calls::encode;
use crate::layout::{Section, alert, app_page, failed, html_page, not_found};
use crate::period::{self, Period};
use crate::session::{SignedIn, Writing};
use crate::table::{Column, Entry, Sort, Table, Value};

const DIMENSIONS: [(Dimension, &str); 14] = [
    (Dimension::Source, "Source"),
    (Dimension::UtmSource, "UTM source"),
    (Dimension::UtmMedium, "Medium"),
    (Dimension::UtmCampaign, "Campaign"),
    (Dimension::LandingPage, "Landing page"),
    (Dimension::NumberId, "Number"),
    (Dimension::CallFlowId, "Call flow"),
    (Dimension::Status, "Status"),
    (Dimension::FirstTime, "First-time caller"),
    (Dimension::Date, "Day"),
    (Dimension::Week, "Week of"),
    (Dimension::Month, "Month"),
    (Dimension::DayOfWeek, "Day of week"),
    (Dimension::HourOfDay, "Hour of day"),
];

const METRICS: [(Metric, &str); 10] = [
    (Metric::Count, "Calls"),
    (Metric::Answered, "Answered"),
    (Metric::Missed, "Missed"),
    (Metric::Voicemail, "Voicemails"),
    (Metric::Qualified, "Qualified leads"),
    (Metric::QualifiedPct, "Qualified rate"),
    (Metric::AvgDuration, "Average duration"),
    (Metric::TotalMinutes, "Total minutes"),
    (Metric::AvgAiScore, "Average lead score"),
    (Metric::UniqueCallers, "Unique callers"),
];

/// The most rows the page lists (the CSV has them all): a year by day and source is a
/// couple of thousand, and a page of them all is megabytes for no reader.
const MOST_ROWS_SHOWN: usize = 500;

fn dimension_label(dimension: Dimension) -> &'static str {
    DIMENSIONS.iter().find(|(d, _)| *d == dimension).map_or("", |(_, label)| label)
}

fn metric_label(metric: Metric) -> &'static str {
    METRICS.iter().find(|(m, _)| *m == metric).map_or("", |(_, label)| label)
}

/// A report, as its URL says it.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    group_by: Vec<Dimension>,
    metrics: Vec<Metric>,
    period: Option<Period>,
    compare: bool,
    sort: Option<Sort>,
}

/// What the URL asked for, as typed (so a refused report is shown back as it was).
#[derive(Default)]
struct Asked {
    group_by: Vec<String>,
    metrics: Vec<String>,
    date_from: Option<String>,
    date_to: Option<String>,
    compare: bool,
    sort: Option<String>,
    /// Given in a form's shape (a parameter repeated): the page leads to the URL's own.
    repeated: bool,
}

impl Asked {
    fn read(query: Option<&str>) -> Asked {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
        let mut asked = Asked::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &pairs {
            let value = value.trim();
            if seen.contains(&name.as_str()) {
                asked.repeated = true;
            }
            seen.push(name);
            let list = || value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
            match name.as_str() {
                "group_by" => asked.group_by.extend(list()),
                "metrics" => asked.metrics.extend(list()),
                "date_from" => asked.date_from = Some(value.to_owned()).filter(|v| !v.is_empty()),
                "date_to" => asked.date_to = Some(value.to_owned()).filter(|v| !v.is_empty()),
                "compare" => asked.compare = value == "previous",
                "sort" => asked.sort = Some(value.to_owned()).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        asked
    }

    fn report(&self, today: Date) -> Result<Report, FieldErrors> {
        let mut errors = FieldErrors::new();
        let query = errors.take_all(AnalyticsQuery::parse(
            Some(&self.group_by.join(",")),
            Some(&self.metrics.join(",")).filter(|m| !m.is_empty()).map(String::as_str),
        ));
        let period = match period::parse(self.date_from.as_deref(), self.date_to.as_deref(), today) {
            Ok(period) => period,
            Err(message) => {
                errors.push("date_from", message);
                None
            }
        };
        if self.compare && period.is_none() && errors.is_empty() {
            errors.push("compare", "needs a period: all time has no period before it");
        }
        errors.finish(())?;
        let query = query.expect("checked");
        Ok(Report {
            group_by: query.group_by,
            metrics: query.metrics,
            period,
            compare: self.compare,
            sort: self.sort.as_deref().map(Sort::parse),
        })
    }
}

impl Report {
    /// The report's own URL query.
    fn query(&self, sort: Option<&Sort>) -> String {
        let names = |list: Vec<&str>| list.join(",");
        let mut parts = Vec::new();
        if !self.group_by.is_empty() {
            parts.push(format!("group_by={}", names(self.group_by.iter().map(|d| d.as_str()).collect())));
        }
        parts.push(format!("metrics={}", names(self.metrics.iter().map(|m| m.as_str()).collect())));
        parts.extend(self.period.map(Period::query));
        if self.compare {
            parts.push("compare=previous".into());
        }
        if let Some(sort) = sort {
            parts.push(format!("sort={}", encode(&sort.word())));
        }
        parts.join("&")
    }
}

/// Where a group's calls are in the log: its keys as the log's filters, within `period`
/// (a day, week or month key narrows it); `None` when the log cannot show exactly them (a
/// group without a value, an hour or a weekday).
pub fn log_link(
    period: Option<Period>,
    dimensions: &[Dimension],
    keys: &[Key],
    more: &str,
) -> Option<String> {
    let mut period = period;
    let mut filters = String::new();
    for (dimension, key) in dimensions.iter().zip(keys) {
        let text = match key {
            Key::Text(text) => text.clone(),
            Key::Flag(flag) => flag.to_string(),
            Key::Number(_) | Key::None => return None,
        };
        let days = |first: Date, last: Date| {
            let within = Period { first, last };
            Some(match period {
                Some(p) => Period { first: within.first.max(p.first), last: within.last.min(p.last) },
                None => within,
            })
        };
        match dimension {
            Dimension::HourOfDay | Dimension::DayOfWeek => return None,
            Dimension::Date => {
                let day: Date = text.parse().ok()?;
                period = days(day, day);
            }
            Dimension::Week => {
                let monday: Date = text.parse().ok()?;
                period = days(monday, monday.checked_add(jiff::Span::new().days(6)).ok()?);
            }
            Dimension::Month => {
                let first: Date = format!("{text}-01").parse().ok()?;
                period = days(first, first.last_of_month());
            }
            Dimension::Status => filters.push_str(&format!("&status={}", encode(&text))),
            other => filters.push_str(&format!("&{}={}", other.as_str(), encode(&text))),
        }
    }
    let dates = period.map(|p| format!("&{}", p.query())).unwrap_or_default();
    let query = format!("{dates}{filters}{more}");
    let query = query.trim_start_matches('&');
    Some(if query.is_empty() { "/calls".to_owned() } else { format!("/calls?{query}") })
}

fn key_value(key: &Key) -> Value {
    match key {
        Key::Text(text) => Value::Text(Some(text.clone())),
        Key::Number(n) => Value::Count(*n),
        Key::Flag(flag) => Value::Text(Some(flag.to_string())),
        Key::None => Value::Text(None),
    }
}

/// The report's rows (and the period before's, to compare).
fn table(report: &Report, groups: &[Group], before: Option<&[Group]>) -> Table {
    let mut columns: Vec<Column> =
        report.group_by.iter().map(|d| Column::new(d.as_str(), dimension_label(*d))).collect();
    for metric in &report.metrics {
        columns.push(Column::new(metric.as_str(), metric_label(*metric)));
        if before.is_some() {
            columns.push(Column::new(
                format!("{}_before", metric.as_str()),
                format!("{}, before", metric_label(*metric)),
            ));
        }
    }
    // Every group of either period: one that had calls before and has none now matters.
    fn by_keys(list: &[Group]) -> HashMap<&[Key], &Aggregates> {
        list.iter().map(|g| (g.keys.as_slice(), &g.aggregates)).collect()
    }
    let (now, was) = (by_keys(groups), before.map(by_keys));
    let mut keys: Vec<&[Key]> = groups.iter().map(|g| g.keys.as_slice()).collect();
    keys.extend(
        before.unwrap_or_default().iter().map(|g| g.keys.as_slice()).filter(|k| !now.contains_key(k)),
    );
    let none = Aggregates::default();
    let rows = keys
        .into_iter()
        .map(|keys| {
            let now = now.get(keys).copied().unwrap_or(&none);
            let was: Option<&Aggregates> = was.as_ref().map(|w| w.get(keys).copied().unwrap_or(&none));
            let mut row: Vec<Entry> = keys.iter().map(|k| Entry::new(key_value(k))).collect();
            for metric in &report.metrics {
                let more = match metric {
                    Metric::Answered => Some("&status=answered"),
                    Metric::Missed => Some("&status=missed"),
                    Metric::Voicemail => Some("&status=voicemail"),
                    Metric::Qualified => Some("&qualified=true"),
                    Metric::Count => Some(""),
                    _ => None,
                };
                let link = more.and_then(|more| log_link(report.period, &report.group_by, keys, more));
                row.push(Entry::linked(now.measure(*metric).into(), link));
                if let Some(was) = &was {
                    row.push(Entry::new(was.measure(*metric).into()));
                }
            }
            row
        })
        .collect();
    Table { columns, rows }
}

async fn answer(
    state: &WebState,
    signed_in: &SignedIn,
    report: &Report,
    period: Option<Period>,
) -> Result<std::sync::Arc<Vec<Group>>, Response> {
    let zone = crate::calls::zone_of(state, signed_in).await;
    let range = match period.map(|p| p.range(&zone)).transpose() {
        Ok(range) => range.unwrap_or_default(),
        Err(error) => return Err(failed(error, "reading a period")),
    };
    let filter = CallFilter { range, ..CallFilter::default() };
    let question = Question {
        business_id: signed_in.business(),
        filter: &filter,
        dimensions: &report.group_by,
        tz: &zone,
        unique_callers: report.metrics.contains(&Metric::UniqueCallers),
    };
    analytics::aggregate(&state.store, &question).await.map_err(|e| failed(e, "reading a report"))
}

async fn report_table(state: &WebState, signed_in: &SignedIn, report: &Report) -> Result<Table, Response> {
    let groups = answer(state, signed_in, report, report.period).await?;
    let before = match report.period.filter(|_| report.compare) {
        Some(period) => Some(answer(state, signed_in, report, Some(period.previous())).await?),
        None => None,
    };
    let mut table = table(report, &groups, before.as_deref().map(Vec::as_slice));
    if let Some(sort) = &report.sort {
        table.sort(sort);
    }
    Ok(table)
}

/// The rows the page lists: the first [`MOST_ROWS_SHOWN`] in the report's order.
fn shown(mut table: Table) -> (Table, usize) {
    let all = table.rows.len();
    table.rows.truncate(MOST_ROWS_SHOWN);
    (table, all)
}

fn today(state: &WebState, zone: jiff::tz::TimeZone) -> Date {
    period::today_in(state, &zone)
}

pub async fn page(State(state): State<WebState>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let today = today(&state, zone);
    let asked = Asked::read(query.as_deref());
    let report = asked.report(today);
    if let (Ok(report), true) = (&report, asked.repeated) {
        return Redirect::to(&format!("/reports?{}", report.query(report.sort.as_ref()))).into_response();
    }
    render(&state, &signed_in, &asked, report, None).await
}

async fn render(
    state: &WebState,
    signed_in: &SignedIn,
    asked: &Asked,
    report: Result<Report, FieldErrors>,
    save_error: Option<(String, FieldErrors)>,
) -> Response {
    let zone = crate::calls::zone_of(state, signed_in).await;
    let today = today(state, zone);
    let (status, results) = match &report {
        Ok(report) => match report_table(state, signed_in, report).await {
            Ok(table) => (StatusCode::OK, Some(shown(table))),
            Err(response) => return response,
        },
        Err(_) => (StatusCode::UNPROCESSABLE_ENTITY, None),
    };
    let status = if save_error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { status };
    let content = html! {
        h1 { "Reports" }
        (builder(asked, report.as_ref().err(), today))
        @if let (Ok(report), Some((table, all))) = (&report, &results) {
            (results_section(signed_in, report, table, *all, save_error.as_ref()))
        }
    };
    html_page(status, app_page("Reports", Section::Reports, signed_in, content))
}

fn builder(asked: &Asked, errors: Option<&FieldErrors>, today: Date) -> Markup {
    let error_of =
        |field: &str| errors.and_then(|e| e.iter().find(|e| e.field == field)).map(|e| e.message.clone());
    let field_error = |field: &str| {
        html! { @if let Some(message) = error_of(field) { span.field-error id={(field) "-error"} { (message) } } }
    };
    let chosen_metrics: Vec<&str> = if asked.metrics.is_empty() {
        vec!["count"]
    } else {
        asked.metrics.iter().map(String::as_str).collect()
    };
    let current = period::parse(asked.date_from.as_deref(), asked.date_to.as_deref(), today).ok().flatten();
    // The presets keep the grouping and metrics.
    let keep: Vec<(&str, String)> =
        [("group_by", asked.group_by.join(",")), ("metrics", chosen_metrics.join(","))]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    html! {
        (period::presets_nav("/reports", &keep, current, today, true))
        form.report-builder method="get" action="/reports" aria-label="Build a report" {
            @if errors.is_some() { (alert(Some("Some choices are not right; see below."), "report-error")) }
            fieldset {
                legend { "Group by (up to three)" }
                @for (i, label) in ["First", "Then", "Then"].iter().enumerate() {
                    div.field {
                        label for={"group_by_" (i)} { (label) }
                        select id={"group_by_" (i)} name="group_by" aria-describedby=[error_of("group_by").map(|_| "group_by-error")] {
                            option value="" { "—" }
                            @for (dimension, label) in DIMENSIONS {
                                option value=(dimension.as_str()) selected[asked.group_by.get(i).map(String::as_str) == Some(dimension.as_str())] { (label) }
                            }
                        }
                    }
                }
                (field_error("group_by"))
            }
            fieldset {
                legend { "Metrics" }
                div.checks {
                    @for (metric, label) in METRICS {
                        label.check {
                            input type="checkbox" name="metrics" value=(metric.as_str()) checked[chosen_metrics.contains(&metric.as_str())];
                            (label)
                        }
                    }
                }
                (field_error("metrics"))
            }
            fieldset {
                legend { "Period (empty for all time)" }
                div.field {
                    label for="date_from" { "From" }
                    input id="date_from" name="date_from" type="date" value=(asked.date_from.as_deref().unwrap_or(""))
                        aria-describedby=[error_of("date_from").map(|_| "date_from-error")];
                    (field_error("date_from"))
                }
                div.field {
                    label for="date_to" { "To" }
                    input id="date_to" name="date_to" type="date" value=(asked.date_to.as_deref().unwrap_or(""));
                }
                label.check {
                    input type="checkbox" name="compare" value="previous" checked[asked.compare]
                        aria-describedby=[error_of("compare").map(|_| "compare-error")];
                    "Compare with the period before"
                }
                (field_error("compare"))
            }
            @if let Some(sort) = &asked.sort { input type="hidden" name="sort" value=(sort); }
            button.primary type="submit" { "Show report" }
        }
    }
}

fn results_section(
    signed_in: &SignedIn,
    report: &Report,
    table: &Table,
    all: usize,
    save_error: Option<&(String, FieldErrors)>,
) -> Markup {
    let sort = report.sort.clone().unwrap_or(Sort { column: String::new(), descending: false });
    let href = |word: &str| format!("/reports?{}", report.query(Some(&Sort::parse(word))));
    let own = report.query(report.sort.as_ref());
    let period_words = report.period.map_or("all time".to_owned(), Period::words);
    html! {
        section.results aria-labelledby="results-heading" {
            div.title-row {
                h2 id="results-heading" { (all) " " (if all == 1 { "row" } else { "rows" }) ", " (period_words) }
                a.button href={"/reports.csv?" (own)} download { "Download CSV" }
            }
            @if table.rows.is_empty() {
                p.empty { "No calls in this period." }
            } @else {
                @if all > table.rows.len() {
                    p.notice role="status" { "The first " (table.rows.len()) " rows in this order are shown; the CSV has all " (all) "." }
                }
                div.wide { (table.render("The report's rows; choose a column's heading to sort by it", Some((&sort, &href)))) }
            }
            @if signed_in.may(Access::Write) {
                @let (typed, errors) = save_error.map_or((String::new(), None), |(t, e)| (t.clone(), Some(e)));
                @let message = errors.and_then(|e| e.iter().next()).map(|e| e.message.clone());
                form.save-report method="post" action="/reports/saved" {
                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                    input type="hidden" name="query" value=(own);
                    label for="report-name" { "Save this report as" }
                    input id="report-name" name="name" type="text" required maxlength="100" value=(typed)
                        aria-describedby=[message.as_ref().map(|_| "report-name-error")];
                    @if let Some(message) = &message { span.field-error id="report-name-error" { (message) } }
                    button type="submit" { "Save report" }
                }
            }
        }
        @if !signed_in.saved_reports.is_empty() {
            section.saved-reports aria-labelledby="saved-heading" {
                h2 id="saved-heading" { "Saved reports" }
                ul {
                    @for saved in &signed_in.saved_reports {
                        li {
                            a href={"/reports?" (saved.query)} { (saved.name) }
                            @if signed_in.may(Access::Write) {
                                form method="post" action={"/reports/saved/" (saved.id) "/remove"} {
                                    input type="hidden" name="csrf" value=(signed_in.csrf_token());
                                    button type="submit" aria-label={"Remove the report " (saved.name)} { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /reports.csv`: the report's rows as a file.
pub async fn csv(State(state): State<WebState>, signed_in: SignedIn, RawQuery(query): RawQuery) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let report = match Asked::read(query.as_deref()).report(today(&state, zone)) {
        Ok(report) => report,
        Err(errors) => return (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()).into_response(),
    };
    match report_table(&state, &signed_in, &report).await {
        Ok(table) => {
            let period = report.period.map_or("all-time".to_owned(), |p| format!("{}-{}", p.first, p.last));
            table.csv(&format!("report-{period}.csv"))
        }
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct SaveForm {
    name: String,
    query: String,
}

/// `POST /reports/saved`: keeps the report under a name (a report that does not parse is
/// refused as the page would refuse it).
pub async fn save(State(state): State<WebState>, Writing { signed_in, form }: Writing<SaveForm>) -> Response {
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let asked = Asked::read(Some(&form.query));
    let report = match asked.report(today(&state, zone)) {
        Ok(report) => report,
        Err(errors) => return render(&state, &signed_in, &asked, Err(errors), None).await,
    };
    let query = report.query(report.sort.as_ref());
    let user = signed_in.current.session.user_id;
    match ringtrack_core::reports::save(&state.store, signed_in.business(), user, &form.name, &query).await {
        Ok(_) => Redirect::to(&format!("/reports?{query}")).into_response(),
        Err(ringtrack_core::reports::SaveError::Invalid(errors)) => {
            render(&state, &signed_in, &asked, Ok(report), Some((form.name, errors))).await
        }
        Err(ringtrack_core::reports::SaveError::Store(error)) => failed(error, "saving a report"),
    }
}

pub async fn remove(
    State(state): State<WebState>,
    Path(id): Path<String>,
    Writing { signed_in, .. }: Writing<crate::session::NoFields>,
) -> Response {
    let Ok(id) = id.parse::<ReportId>() else { return not_found("Report") };
    match ringtrack_core::reports::remove(&state.store, signed_in.business(), id).await {
        Ok(true) => Redirect::to("/reports").into_response(),
        Ok(false) => not_found("Report"),
        Err(error) => failed(error, "removing a report"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_choices_become_the_reports_own_url() {
        let today: Date = "2026-12-08".parse().unwrap();
        let asked = Asked::read(Some(
            "group_by=source&group_by=date&group_by=&metrics=count&metrics=qualified&date_from=2026-11-01&date_to=2026-11-30&compare=previous&sort=-count",
        ));
        assert!(asked.repeated);
        let report = asked.report(today).unwrap();
        assert_eq!(
            report.query(report.sort.as_ref()),
            "group_by=source,date&metrics=count,qualified&date_from=2026-11-01&date_to=2026-11-30&compare=previous&sort=-count"
        );
        let again = Asked::read(Some(&report.query(report.sort.as_ref())));
        assert!(!again.repeated);
        assert_eq!(again.report(today).unwrap(), report);
        let refused = Asked::read(Some("group_by=source,nope&compare=previous")).report(today).unwrap_err();
        let fields: Vec<_> = refused.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["group_by"]);
    }

    #[test]
    fn groups_lead_to_exactly_their_calls() {
        let period =
            Some(Period { first: "2026-11-01".parse().unwrap(), last: "2026-11-30".parse().unwrap() });
        let link = log_link(
            period,
            &[Dimension::Week, Dimension::Source],
            &[Key::Text("2026-10-26".into()), Key::Text("google ads".into())],
            "&qualified=true",
        );
        assert_eq!(
            link.as_deref(),
            Some("/calls?date_from=2026-11-01&date_to=2026-11-01&source=google%20ads&qualified=true")
        );
        assert_eq!(log_link(None, &[Dimension::HourOfDay], &[Key::Number(9)], ""), None);
        assert_eq!(log_link(None, &[Dimension::UtmCampaign], &[Key::None], ""), None);
        assert_eq!(log_link(None, &[], &[], "").as_deref(), Some("/calls"));
    }
}
