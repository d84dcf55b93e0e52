//! The dashboard's charts: a period's calls broken down by day and outcome, by source, by
//! campaign, by hour of the week, by landing page and by first-time or repeat caller. Each
//! is one analytics question; its answer becomes a [`Table`] (what the page lists, the CSV
//! holds and `/api/v1/analytics/calls` answers for the same grouping), and the chart is
//! drawn from that table, so picture, table and file cannot disagree.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::BusinessId;
use ringtrack_domain::calls::{CallFilter, CallStatus, Dimension, Metric, WEEKDAYS};
use ringtrack_store::analytics::{self, Answer, Group, Key, Question};

use crate::WebState;
use crate::charts::{self, Bar, Series};
use crate::layout::{failed, not_found};
use crate::period::Period;
use crate::reports::log_link;
use crate::session::SignedIn;
use crate::table::{Column, Entry, Table, Value};

/// The charts, in the order the dashboard shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    Days,
    Sources,
    Campaigns,
    Hours,
    Pages,
    Callers,
}

/// The most categories a bar chart draws (its table lists them all).
const MOST_BARS: usize = 10;

const OUTCOMES: [(CallStatus, Series); 3] = [
    (CallStatus::Answered, Series { class: "s-answered", label: "Answered" }),
    (CallStatus::Missed, Series { class: "s-missed", label: "Missed" }),
    (CallStatus::Voicemail, Series { class: "s-voicemail", label: "Voicemail" }),
];
const CALLS_AND_LEADS: [Series; 2] =
    [Series { class: "s-calls", label: "Calls" }, Series { class: "s-qualified", label: "Qualified leads" }];

/// How long a column of the calls-over-time chart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Day,
    Week,
    Month,
}

impl Step {
    fn of(period: Period) -> Step {
        match period.days() {
            ..=92 => Step::Day,
            93..=731 => Step::Week,
            _ => Step::Month,
        }
    }

    fn dimension(self) -> Dimension {
        match self {
            Step::Day => Dimension::Date,
            Step::Week => Dimension::Week,
            Step::Month => Dimension::Month,
        }
    }

    /// The columns covering the period: each one's key (as analytics labels it) and days.
    fn columns(self, period: Period) -> Vec<(String, Period)> {
        let mut columns = Vec::new();
        let mut start = match self {
            Step::Day => period.first,
            Step::Week => {
                period.first
                    - jiff::Span::new().days(i64::from(period.first.weekday().to_monday_zero_offset()))
            }
            Step::Month => period.first.first_of_month(),
        };
        while start <= period.last {
            let end = match self {
                Step::Day => start,
                Step::Week => start + jiff::Span::new().days(6),
                Step::Month => start.last_of_month(),
            };
            let key = match self {
                Step::Month => start.strftime("%Y-%m").to_string(),
                _ => start.to_string(),
            };
            columns.push((key, Period { first: start.max(period.first), last: end.min(period.last) }));
            let Some(next) = end.tomorrow().ok() else { break };
            start = next;
        }
        columns
    }
}

impl Chart {
    pub const ALL: [Chart; 6] =
        [Chart::Days, Chart::Sources, Chart::Campaigns, Chart::Hours, Chart::Pages, Chart::Callers];

    pub fn id(self) -> &'static str {
        match self {
            Chart::Days => "calls-over-time",
            Chart::Sources => "sources",
            Chart::Campaigns => "campaigns",
            Chart::Hours => "hours",
            Chart::Pages => "landing-pages",
            Chart::Callers => "callers",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Chart::Days => "Calls over time, by outcome",
            Chart::Sources => "Calls and qualified leads by source",
            Chart::Campaigns => "Calls and qualified leads by campaign",
            Chart::Hours => "When calls come, and when they are missed",
            Chart::Pages => "Top landing pages",
            Chart::Callers => "First-time and repeat callers",
        }
    }

    /// Where the chart's key is among [`DETAIL`]'s, when the chart adds up that answer.
    fn in_detail(self) -> Option<usize> {
        match self {
            Chart::Sources => Some(0),
            Chart::Campaigns => Some(1),
            Chart::Callers => Some(3),
            _ => None,
        }
    }

    pub fn dimensions(self, period: Period) -> Vec<Dimension> {
        match self {
            Chart::Days => vec![Step::of(period).dimension(), Dimension::Status],
            Chart::Sources => vec![Dimension::Source],
            Chart::Campaigns => vec![Dimension::UtmCampaign],
            Chart::Hours => vec![Dimension::DayOfWeek, Dimension::HourOfDay],
            Chart::Pages => vec![Dimension::LandingPage],
            Chart::Callers => vec![Dimension::FirstTime],
        }
    }

    fn metrics(self) -> [Metric; 2] {
        match self {
            Chart::Hours => [Metric::Count, Metric::Missed],
            _ => [Metric::Count, Metric::Qualified],
        }
    }
}

/// What "where your leads come from" lists: the period's calls by source, campaign, medium
/// and first-time caller. The source, campaign and caller charts add it up instead of
/// asking again (counts add), so the dashboard asks four questions, not ten.
pub const DETAIL: [Dimension; 4] =
    [Dimension::Source, Dimension::UtmCampaign, Dimension::UtmMedium, Dimension::FirstTime];

/// `detail`'s groups by their `at`th key alone.
fn fold(detail: &[Group], at: usize) -> Vec<Group> {
    let mut folded: Vec<Group> = Vec::new();
    for group in detail {
        let key = &group.keys[at];
        match folded.iter_mut().find(|g| &g.keys[0] == key) {
            Some(found) => found.aggregates.add(&group.aggregates),
            None => folded.push(Group { keys: vec![key.clone()], aggregates: group.aggregates.clone() }),
        }
    }
    folded
}

/// The period's answer for [`DETAIL`], and each chart's table.
pub async fn tables(
    state: &WebState,
    business: BusinessId,
    zone: &TimeZone,
    period: Period,
    charts: &[Chart],
) -> Result<(Answer, Vec<(Chart, Table)>), Response> {
    let own = charts.iter().filter(|c| c.in_detail().is_none()).map(|chart| async move {
        let answer = ask(state, business, zone, period, &chart.dimensions(period)).await?;
        Ok::<_, Response>((*chart, table(*chart, period, &answer)))
    });
    let (detail, own) = futures_util::future::join(
        ask(state, business, zone, period, &DETAIL),
        futures_util::future::try_join_all(own),
    )
    .await;
    let (detail, mut own) = (detail?, own?);
    let mut tables = Vec::with_capacity(charts.len());
    for chart in charts {
        match chart.in_detail() {
            Some(at) => tables.push((*chart, table(*chart, period, &fold(&detail, at)))),
            None => tables.extend(own.iter().position(|(c, _)| c == chart).map(|i| own.swap_remove(i))),
        }
    }
    Ok((detail, tables))
}

/// Where a count of the period's calls leads: the log, filtered to exactly them.
fn log(period: Period, filter: &str) -> String {
    format!("/calls?{}{filter}", period.query())
}

/// A period's calls grouped by `dimensions`, in the business's zone.
pub async fn ask(
    state: &WebState,
    business: BusinessId,
    zone: &TimeZone,
    period: Period,
    dimensions: &[Dimension],
) -> Result<Answer, Response> {
    let range = period.range(zone).map_err(|error| failed(error, "reading a period"))?;
    let filter = CallFilter { range, ..CallFilter::default() };
    let question =
        Question { business_id: business, filter: &filter, dimensions, tz: zone, unique_callers: false };
    analytics::aggregate(&state.store, &question).await.map_err(|e| failed(e, "reading the charts"))
}

fn text(key: &Key) -> Option<String> {
    match key {
        Key::Text(text) => Some(text.clone()),
        Key::Number(n) => Some(n.to_string()),
        Key::Flag(flag) => Some(flag.to_string()),
        Key::None => None,
    }
}

/// The chart's table: for calls over time one row per column of the chart (days without
/// calls included); for the rest, the analytics rows, most calls first.
pub fn table(chart: Chart, period: Period, answer: &[Group]) -> Table {
    let [first, second] = chart.metrics();
    let metric_columns = [
        Column::new(first.as_str(), "Calls"),
        Column::new(second.as_str(), if second == Metric::Missed { "Missed" } else { "Qualified leads" }),
    ];
    match chart {
        Chart::Days => {
            let step = Step::of(period);
            let mut columns = vec![Column::new(
                step.dimension().as_str(),
                match step {
                    Step::Day => "Day",
                    Step::Week => "Week of",
                    Step::Month => "Month",
                },
            )];
            columns
                .extend(OUTCOMES.iter().map(|(status, series)| Column::new(status.as_str(), series.label)));
            columns.push(Column::new("count", "Calls"));
            let rows = step
                .columns(period)
                .into_iter()
                .map(|(key, days)| {
                    let count = |status: Option<CallStatus>| {
                        answer
                            .iter()
                            .filter(|g| g.keys[0] == Key::Text(key.clone()))
                            .filter(|g| status.is_none_or(|s| g.keys[1] == Key::Text(s.as_str().into())))
                            .map(|g| g.aggregates.count)
                            .sum::<i64>()
                    };
                    let mut row = vec![Entry::new(Value::Text(Some(key.clone())))];
                    for (status, _) in OUTCOMES {
                        row.push(Entry::linked(
                            Value::Count(count(Some(status))),
                            Some(log(days, &format!("&status={}", status.as_str()))),
                        ));
                    }
                    row.push(Entry::linked(Value::Count(count(None)), Some(log(days, ""))));
                    row
                })
                .collect();
            Table { columns, rows }
        }
        _ => {
            let dimensions = chart.dimensions(period);
            let mut columns: Vec<Column> = dimensions
                .iter()
                .map(|d| {
                    Column::new(
                        d.as_str(),
                        match d {
                            Dimension::Source => "Source",
                            Dimension::UtmCampaign => "Campaign",
                            Dimension::DayOfWeek => "Day",
                            Dimension::HourOfDay => "Hour",
                            Dimension::LandingPage => "Landing page",
                            _ => "First-time caller",
                        },
                    )
                })
                .collect();
            columns.extend(metric_columns);
            let mut groups: Vec<_> = answer.iter().collect();
            if chart != Chart::Hours {
                groups.sort_by_key(|g| std::cmp::Reverse(g.aggregates.count));
            }
            let rows = groups
                .into_iter()
                .map(|group| {
                    let mut row: Vec<Entry> =
                        group.keys.iter().map(|k| Entry::new(Value::Text(text(k)))).collect();
                    let second_filter =
                        if second == Metric::Missed { "&status=missed" } else { "&qualified=true" };
                    let link = |more: &str| log_link(Some(period), &dimensions, &group.keys, more);
                    row.push(Entry::linked(group.aggregates.measure(first).into(), link("")));
                    row.push(Entry::linked(group.aggregates.measure(second).into(), link(second_filter)));
                    row
                })
                .collect();
            Table { columns, rows }
        }
    }
}

fn count(entry: &Entry) -> i64 {
    match entry.value {
        Value::Count(n) => n,
        _ => 0,
    }
}

fn label(entry: &Entry) -> String {
    match &entry.value {
        Value::Text(Some(text)) => text.clone(),
        _ => "(none)".into(),
    }
}

/// What people read for a key: `Nov 3` for a day, `First-time` for a flag.
fn key_words(chart: Chart, key: &str) -> String {
    match chart {
        Chart::Days => match key.parse::<Date>() {
            Ok(day) => day.strftime("%b %-d").to_string(),
            Err(_) => match format!("{key}-01").parse::<Date>() {
                Ok(month) => month.strftime("%b %Y").to_string(),
                Err(_) => key.to_owned(),
            },
        },
        Chart::Callers => if key == "true" { "First-time callers" } else { "Repeat callers" }.into(),
        _ => key.to_owned(),
    }
}

/// The chart drawn from its table, or what to say when the period has no calls.
pub fn draw(chart: Chart, table: &Table) -> Markup {
    let total: i64 = match chart {
        Chart::Days => table.rows.iter().map(|r| count(&r[4])).sum(),
        Chart::Hours => table.rows.iter().map(|r| count(&r[2])).sum(),
        _ => table.rows.iter().map(|r| count(&r[1])).sum(),
    };
    if total == 0 {
        return html! { p.empty { "No calls in this period." } };
    }
    let id = format!("chart-{}", chart.id());
    match chart {
        Chart::Days => {
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .map(|row| Bar {
                    label: key_words(chart, &label(&row[0])),
                    values: row[1..4].iter().map(|e| (count(e), e.link.clone())).collect(),
                })
                .collect();
            let busiest = bars.iter().max_by_key(|b| b.values.iter().map(|v| v.0).sum::<i64>());
            let description = format!(
                "{total} calls in {} columns; the busiest was {} with {}.",
                bars.len(),
                busiest.map_or("—".into(), |b| b.label.clone()),
                busiest.map_or(0, |b| b.values.iter().map(|v| v.0).sum::<i64>()),
            );
            let series: Vec<Series> = OUTCOMES.iter().map(|(_, s)| *s).collect();
            charts::columns(&id, chart.title(), &description, &series, &bars)
        }
        Chart::Hours => {
            let mut calls = vec![[0i64; 24]; 7];
            let mut missed = vec![[0i64; 24]; 7];
            for row in &table.rows {
                let day = WEEKDAYS.iter().position(|d| *d == label(&row[0]));
                let hour = label(&row[1]).parse::<usize>().ok().filter(|h| *h < 24);
                if let (Some(day), Some(hour)) = (day, hour) {
                    calls[day][hour] = count(&row[2]);
                    missed[day][hour] = count(&row[3]);
                }
            }
            let busiest = |grid: &[[i64; 24]]| {
                let (day, hour, n) = grid
                    .iter()
                    .enumerate()
                    .flat_map(|(d, r)| r.iter().enumerate().map(move |(h, n)| (d, h, *n)))
                    .max_by_key(|(_, _, n)| *n)
                    .unwrap_or((0, 0, 0));
                (n > 0).then(|| {
                    format!("{} at {} ({n})", capitalised(WEEKDAYS[day]), charts::hour_word(hour as i64))
                })
            };
            let description = format!(
                "Most calls come on {}; most are missed on {}.",
                busiest(&calls).unwrap_or("no day".into()),
                busiest(&missed).unwrap_or("no day: none were missed".into()),
            );
            let days: Vec<String> = WEEKDAYS.iter().map(|d| capitalised(&d[..3])).collect();
            let days: Vec<&str> = days.iter().map(String::as_str).collect();
            charts::week_grid(
                &id,
                chart.title(),
                &description,
                &days,
                &[
                    (Series { class: "s-calls", label: "Calls" }, calls),
                    (Series { class: "s-missed", label: "Missed" }, missed),
                ],
            )
        }
        _ => {
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .filter(|row| chart != Chart::Pages || row[0].value != Value::Text(None))
                .take(MOST_BARS)
                .map(|row| Bar {
                    label: key_words(chart, &label(&row[0])),
                    values: row[1..3].iter().map(|e| (count(e), e.link.clone())).collect(),
                })
                .collect();
            let description = match bars.first() {
                Some(top) => format!(
                    "{} of {} shown; the most calls came from {}: {} calls, {} qualified.",
                    bars.len(),
                    table.rows.len(),
                    top.label,
                    top.values[0].0,
                    top.values[1].0
                ),
                None => "No calls came from a landing page in this period.".into(),
            };
            if bars.is_empty() {
                return html! { p.empty { (description) } };
            }
            charts::bars(&id, chart.title(), &description, &CALLS_AND_LEADS, &bars)
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A chart on the dashboard: its heading, the picture, and its numbers one press away.
pub fn section(chart: Chart, period: Period, table: &Table) -> Markup {
    let heading = format!("chart-{}-heading", chart.id());
    html! {
        section.chart aria-labelledby=(heading) {
            h2 id=(heading) { (chart.title()) }
            (draw(chart, table))
            details {
                summary { "Show the numbers" }
                (table.render(chart.title(), None))
            }
            a.download href={"/dashboard/" (chart.id()) ".csv?" (period.query())} download { "Download CSV" }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct CsvQuery {
    date_from: Option<String>,
    date_to: Option<String>,
}

/// `GET /dashboard/{chart}.csv`: a chart's table (or the leads by source) as a file.
pub async fn csv(
    State(state): State<WebState>,
    signed_in: SignedIn,
    Path(file): Path<String>,
    Query(query): Query<CsvQuery>,
) -> Response {
    let chart = Chart::ALL.into_iter().find(|c| file == format!("{}.csv", c.id()));
    if chart.is_none() && file != "leads.csv" {
        return not_found("Chart");
    }
    let zone = crate::calls::zone_of(&state, &signed_in).await;
    let today = crate::period::today_in(&state, &zone);
    let period = match crate::period::parse(query.date_from.as_deref(), query.date_to.as_deref(), today) {
        Ok(period) => period.unwrap_or_else(|| crate::period::default_period(today)),
        Err(error) => {
            return (axum::http::StatusCode::UNPROCESSABLE_ENTITY, error).into_response();
        }
    };
    let name = chart.map_or("leads", Chart::id);
    let table = match tables(&state, signed_in.business(), &zone, period, chart.as_slice()).await {
        Ok((_, mut tables)) if chart.is_some() => Ok(tables.remove(0).1),
        Ok((detail, _)) => crate::leads::table(&state, &signed_in, period, &detail).await,
        Err(response) => Err(response),
    };
    match table {
        Ok(table) => table.csv(&format!("{name}-{}-{}.csv", period.first, period.last)),
        Err(response) => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_cover_the_period_in_whole_steps() {
        let period = Period { first: "2026-03-04".parse().unwrap(), last: "2026-05-10".parse().unwrap() };
        assert_eq!(Step::of(period), Step::Day);
        let weeks = Step::Week.columns(period);
        assert_eq!(weeks.first().map(|w| w.0.as_str()), Some("2026-03-02"));
        assert_eq!(weeks[0].1.first.to_string(), "2026-03-04");
        assert_eq!(weeks.last().map(|w| w.1.last.to_string()), Some("2026-05-10".into()));
        let months = Step::Month.columns(period);
        assert_eq!(
            months.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
            ["2026-03", "2026-04", "2026-05"]
        );
        assert_eq!(Step::Day.columns(period).len() as i64, period.days());
    }
}
