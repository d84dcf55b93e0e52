//! The call log's rules: statuses, the filters a list or an export takes (each refused
//! value named), and analytics requests — which groupings and metrics exist, and how local
//! time is computed so that days, weeks and hours follow the business's time zone.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::dates::{DateRange, DateRangeParams};
use crate::ids::{CallFlowId, NumberId};
use crate::validation::{FieldError, FieldErrors};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallStatus {
    Answered,
    Missed,
    Voicemail,
    /// Until the carrier reports the call's end.
    InProgress,
}

text_enum!(
    CallStatus, "answered, missed, voicemail, in_progress",
    CallStatus::Answered => "answered",
    CallStatus::Missed => "missed",
    CallStatus::Voicemail => "voicemail",
    CallStatus::InProgress => "in_progress"
);

/// Which way a call or a text went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

text_enum!(
    Direction, "inbound, outbound",
    Direction::Inbound => "inbound",
    Direction::Outbound => "outbound"
);

/// A call's source as reports group it: the number's own (set on the number), else the
/// visit's utm_source, else `direct`.
pub fn attributed_source<'a>(number_source: Option<&'a str>, utm_source: Option<&'a str>) -> &'a str {
    number_source.or(utm_source).unwrap_or("direct")
}

/// The longest call or recording a carrier may report: a day (Twilio's limit is 4 hours).
pub const MAX_CALL_SECONDS: i64 = 86_400;

/// The filters of `GET /calls` and `/calls/export`, as they arrive.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CallFilterParams {
    pub status: Option<String>,
    pub number_id: Option<String>,
    pub call_flow_id: Option<String>,
    pub qualified: Option<String>,
    pub updated_since: Option<String>,
    pub min_duration: Option<String>,
    pub max_duration: Option<String>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    pub source: Option<String>,
    pub utm_medium: Option<String>,
    pub first_time: Option<String>,
    pub landing_page: Option<String>,
    pub search: Option<String>,
    #[serde(flatten)]
    pub dates: DateRangeParams,
}

/// Checked filters; every one given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub range: DateRange,
    pub status: Option<CallStatus>,
    pub number_id: Option<NumberId>,
    pub call_flow_id: Option<CallFlowId>,
    pub qualified: Option<bool>,
    pub updated_since: Option<Timestamp>,
    pub min_duration: Option<i64>,
    pub max_duration: Option<i64>,
    pub utm_source: Option<String>,
    pub utm_campaign: Option<String>,
    /// The source as analytics groups it: the number's own, else the visit's utm_source,
    /// else `direct`.
    pub source: Option<String>,
    pub utm_medium: Option<String>,
    /// Whether the caller had never called the business before.
    pub first_time: Option<bool>,
    /// The landing page's address without its query or fragment ([`crate::dni::page_address`]).
    pub landing_page: Option<String>,
    /// Digits the caller's number contains.
    pub caller_digits: Option<String>,
}

fn parsed<T: FromStr>(field: &str, raw: &Option<String>, message: &str) -> Result<Option<T>, FieldError> {
    raw.as_deref().map(|r| r.trim().parse().map_err(|_| FieldError::new(field, message))).transpose()
}

impl CallFilter {
    /// Dates are whole UTC days, as the API documents.
    pub fn parse(params: &CallFilterParams) -> Result<CallFilter, FieldErrors> {
        CallFilter::parse_in(params, &TimeZone::UTC)
    }

    /// Dates are whole days in `zone`.
    pub fn parse_in(params: &CallFilterParams, zone: &TimeZone) -> Result<CallFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let range = errors.take_all(DateRange::parse_in(&params.dates, zone)).unwrap_or_default();
        let status = errors
            .take(parsed("status", &params.status, "must be answered, missed, voicemail or in_progress"))
            .flatten();
        let number_id = errors.take(parsed("number_id", &params.number_id, "is not a valid id")).flatten();
        let call_flow_id =
            errors.take(parsed("call_flow_id", &params.call_flow_id, "is not a valid id")).flatten();
        let qualified =
            errors.take(parsed("qualified", &params.qualified, "must be true or false")).flatten();
        let first_time =
            errors.take(parsed("first_time", &params.first_time, "must be true or false")).flatten();
        let updated_since = errors
            .take(parsed::<Timestamp>(
                "updated_since",
                &params.updated_since,
                "must be an RFC 3339 date-time",
            ))
            .flatten();
        let duration = "must be a whole number of seconds, 0 or more";
        let min_duration =
            errors.take(parsed::<u32>("min_duration", &params.min_duration, duration)).flatten();
        let max_duration =
            errors.take(parsed::<u32>("max_duration", &params.max_duration, duration)).flatten();
        if let (Some(min), Some(max)) = (min_duration, max_duration)
            && min > max
        {
            errors.push("max_duration", "must not be less than min_duration");
        }
        // Bounded and printable: a control character (NUL above all, which PostgreSQL
        // refuses in text) is named as the client's mistake, never sent to the database.
        let mut text = |field: &str, raw: &Option<String>, most: usize| {
            let value = raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
            if value.as_ref().is_some_and(|s| s.chars().count() > most || s.chars().any(char::is_control)) {
                errors.push(
                    field,
                    format!("must be at most {most} characters, none of them control characters"),
                );
            }
            value
        };
        let utm_source = text("utm_source", &params.utm_source, 200);
        let utm_campaign = text("utm_campaign", &params.utm_campaign, 200);
        let source = text("source", &params.source, 200);
        let utm_medium = text("utm_medium", &params.utm_medium, 200);
        let landing_page = text("landing_page", &params.landing_page, crate::dni::MAX_PAGE_ADDRESS);
        let caller_digits = match params.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(search) => {
                let digits: String = search.chars().filter(char::is_ascii_digit).collect();
                let allowed = search.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
                if digits.is_empty() || !allowed || digits.len() > 15 {
                    errors.push("search", "must be digits of a phone number");
                }
                Some(digits)
            }
        };
        errors.finish(CallFilter {
            range,
            status,
            number_id,
            call_flow_id,
            qualified,
            updated_since,
            min_duration: min_duration.map(i64::from),
            max_duration: max_duration.map(i64::from),
            utm_source,
            utm_campaign,
            source,
            utm_medium,
            first_time,
            landing_page,
            caller_digits,
        })
    }
}
/// The most a call's notes hold, in characters.
pub const MAX_NOTES: usize = 10_000;
/// The most tags a call carries, and the most characters in one.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 50;

/// A person's notes on a call: blank clears them.
pub fn parse_notes(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    crate::validation::parse_text(field, raw, MAX_NOTES).map(Some)
}

/// A call's tags as a person gives them: each trimmed, 1 to 50 characters without control
/// characters, duplicates dropped, at most 50.
pub fn parse_tags<'a>(
    field: &str,
    raw: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, FieldErrors> {
    parse_words(field, raw, MAX_TAGS, "tags")
}

/// A list of short texts a person gives (tags, terms): each trimmed, 1 to 50 characters
/// without control characters, duplicates dropped, at most `max` (`plural` names them).
pub fn parse_words<'a>(
    field: &str,
    raw: impl IntoIterator<Item = &'a str>,
    max: usize,
    plural: &str,
) -> Result<Vec<String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut words: Vec<String> = Vec::new();
    for (i, word) in raw.into_iter().enumerate() {
        let word = word.trim();
        if word.is_empty() || word.chars().count() > MAX_TAG_CHARS || word.chars().any(char::is_control) {
            errors.push(format!("{field}[{i}]"), format!("must be 1 to {MAX_TAG_CHARS} characters"));
        } else if !words.iter().any(|w| w == word) {
            words.push(word.to_owned());
        }
    }
    if words.len() > max {
        errors.push(field, format!("at most {max} {plural}"));
    }
    errors.finish(words)
}

/// What analytics rows are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// The number's static source, else the visit's utm_source, else "direct".
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    NumberId,
    CallFlowId,
    Status,
    /// Whether the caller had never called the business before.
    FirstTime,
    /// Local calendar day, `2026-03-23`.
    Date,
    /// The Monday that starts the local week.
    Week,
    /// `2026-03`.
    Month,
    /// 0-23, local.
    HourOfDay,
    /// `monday` … `sunday`.
    DayOfWeek,
    /// The landing page's address, without its query or fragment.
    LandingPage,
}

impl Dimension {
    /// Whether the dimension is a part of the local calendar or clock.
    pub fn is_time(self) -> bool {
        matches!(
            self,
            Dimension::Date
                | Dimension::Week
                | Dimension::Month
                | Dimension::HourOfDay
                | Dimension::DayOfWeek
        )
    }
}

text_enum!(
    Dimension, "source, utm_source, utm_medium, utm_campaign, number_id, call_flow_id, status, first_time, date, week, month, hour_of_day, day_of_week, landing_page",
    Dimension::Source => "source",
    Dimension::UtmSource => "utm_source",
    Dimension::UtmMedium => "utm_medium",
    Dimension::UtmCampaign => "utm_campaign",
    Dimension::NumberId => "number_id",
    Dimension::CallFlowId => "call_flow_id",
    Dimension::Status => "status",
    Dimension::FirstTime => "first_time",
    Dimension::Date => "date",
    Dimension::Week => "week",
    Dimension::Month => "month",
    Dimension::HourOfDay => "hour_of_day",
    Dimension::DayOfWeek => "day_of_week",
    Dimension::LandingPage => "landing_page"
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Count,
    Answered,
    Missed,
    Voicemail,
    Qualified,
    QualifiedPct,
    AvgDuration,
    TotalMinutes,
    AvgAiScore,
    UniqueCallers,
}

text_enum!(
    Metric, "count, answered, missed, voicemail, qualified, qualified_pct, avg_duration, total_minutes, avg_ai_score, unique_callers",
    Metric::Count => "count",
    Metric::Answered => "answered",
    Metric::Missed => "missed",
    Metric::Voicemail => "voicemail",
    Metric::Qualified => "qualified",
    Metric::QualifiedPct => "qualified_pct",
    Metric::AvgDuration => "avg_duration",
    Metric::TotalMinutes => "total_minutes",
    Metric::AvgAiScore => "avg_ai_score",
    Metric::UniqueCallers => "unique_callers"
);

pub const MAX_GROUP_BY: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalyticsQuery {
    pub group_by: Vec<Dimension>,
    pub metrics: Vec<Metric>,
}

impl AnalyticsQuery {
    /// `group_by` and `metrics` are comma-separated names; metrics default to `count`.
    pub fn parse(group_by: Option<&str>, metrics: Option<&str>) -> Result<AnalyticsQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut list = |field: &str, raw: Option<&str>| -> Vec<String> {
            let names: Vec<String> = raw
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let mut seen = Vec::new();
            for name in &names {
                if seen.contains(name) {
                    errors.push(field, format!("{name} is given twice"));
                }
                seen.push(name.clone());
            }
            names
        };
        let dims = list("group_by", group_by);
        let mets = list("metrics", metrics);
        let mut group = Vec::new();
        for name in dims {
            match name.parse::<Dimension>() {
                Ok(d) => group.push(d),
                Err(e) => errors.push("group_by", format!("{name:?}: {e}")),
            }
        }
        if group.len() > MAX_GROUP_BY {
            errors.push("group_by", format!("at most {MAX_GROUP_BY} fields"));
        }
        let mut metrics = Vec::new();
        for name in mets {
            match name.parse::<Metric>() {
                Ok(m) => metrics.push(m),
                Err(e) => errors.push("metrics", format!("{name:?}: {e}")),
            }
        }
        if metrics.is_empty() {
            metrics.push(Metric::Count);
        }
        errors.finish(AnalyticsQuery { group_by: group, metrics })
    }
}

/// The offset from UTC in force from each instant on, over `[from, to)`: the first entry
/// starts at `from`, then one entry a DST change. Local seconds are `utc + offset`.
pub fn offsets(tz: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<(i64, i64)> {
    let mut out = vec![(from.as_second(), i64::from(tz.to_offset(from).seconds()))];
    for transition in tz.following(from) {
        if transition.timestamp() >= to {
            break;
        }
        out.push((transition.timestamp().as_second(), i64::from(transition.offset().seconds())));
    }
    out
}

/// The local month starts within `[from, to)`, as UTC seconds with their `2026-03` labels;
/// the first label is `from`'s month.
pub fn months(tz: &TimeZone, from: Timestamp, to: Timestamp) -> Vec<(i64, String)> {
    let local = from.to_zoned(tz.clone());
    let mut month = local.date().first_of_month();
    let mut out = Vec::new();
    loop {
        let start = month.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(from);
        if start >= to {
            break;
        }
        out.push((start.as_second(), format!("{:04}-{:02}", month.year(), month.month())));
        match month.checked_add(jiff::Span::new().months(1)) {
            Ok(next) => month = next,
            Err(_) => break,
        }
    }
    if out.is_empty() {
        out.push((from.as_second(), format!("{:04}-{:02}", local.year(), local.month())));
    }
    out
}

/// The calendar date of a local day number (days since 1970-01-01).
pub fn day_label(day: i64) -> String {
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

pub const WEEKDAYS: [&str; 7] =
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> CallFilterParams {
        let query: String = pairs.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        serde_urlencoded_like(&query)
    }

    /// Builds params the way the query string would.
    fn serde_urlencoded_like(query: &str) -> CallFilterParams {
        let mut p = CallFilterParams::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap();
            let v = Some(v.to_owned());
            match k {
                "status" => p.status = v,
                "number_id" => p.number_id = v,
                "call_flow_id" => p.call_flow_id = v,
                "qualified" => p.qualified = v,
                "updated_since" => p.updated_since = v,
                "min_duration" => p.min_duration = v,
                "max_duration" => p.max_duration = v,
                "utm_source" => p.utm_source = v,
                "search" => p.search = v,
                "date_from" => p.dates.date_from = v,
                "date_to" => p.dates.date_to = v,
                other => panic!("{other}"),
            }
        }
        p
    }

    fn refused(pairs: &[(&str, &str)]) -> Vec<String> {
        CallFilter::parse(&params(pairs)).unwrap_err().into_vec().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn filters_parse_and_combine() {
        let f = CallFilter::parse(&params(&[
            ("status", "answered"),
            ("qualified", "true"),
            ("min_duration", "60"),
            ("max_duration", "600"),
            ("search", "(305) 555"),
            ("date_from", "2026-03-01"),
            ("utm_source", "google"),
        ]))
        .unwrap();
        assert_eq!(f.status, Some(CallStatus::Answered));
        assert_eq!(f.qualified, Some(true));
        assert_eq!((f.min_duration, f.max_duration), (Some(60), Some(600)));
        assert_eq!(f.caller_digits.as_deref(), Some("305555"));
        assert_eq!(f.range.from, Some("2026-03-01T00:00:00Z".parse().unwrap()));
        assert_eq!(f.utm_source.as_deref(), Some("google"));
    }

    #[test]
    fn every_bad_filter_is_named() {
        assert_eq!(refused(&[("status", "busy")]), ["status"]);
        assert_eq!(refused(&[("number_id", "12")]), ["number_id"]);
        assert_eq!(refused(&[("qualified", "yes")]), ["qualified"]);
        assert_eq!(refused(&[("updated_since", "yesterday")]), ["updated_since"]);
        assert_eq!(refused(&[("min_duration", "-1")]), ["min_duration"]);
        assert_eq!(refused(&[("min_duration", "60"), ("max_duration", "30")]), ["max_duration"]);
        assert_eq!(refused(&[("search", "' OR 1=1 --")]), ["search"]);
        assert_eq!(refused(&[("date_from", "soon"), ("status", "x")]), ["date_from", "status"]);
    }

    #[test]
    fn analytics_requests_are_checked() {
        let q = AnalyticsQuery::parse(Some("source, date"), Some("count,qualified_pct")).unwrap();
        assert_eq!(q.group_by, [Dimension::Source, Dimension::Date]);
        assert_eq!(q.metrics, [Metric::Count, Metric::QualifiedPct]);
        assert_eq!(AnalyticsQuery::parse(None, None).unwrap().metrics, [Metric::Count]);
        let fields = |g, m| {
            AnalyticsQuery::parse(g, m)
                .unwrap_err()
                .into_vec()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(Some("planet"), None), ["group_by"]);
        assert_eq!(fields(Some("date,week,month,status"), None), ["group_by"]);
        assert_eq!(fields(Some("date,date"), None), ["group_by"]);
        assert_eq!(fields(None, Some("revenue")), ["metrics"]);
    }

    #[test]
    fn offsets_follow_daylight_saving() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let o = offsets(&tz, from, to);
        assert_eq!(o.len(), 3, "{o:?}");
        assert_eq!(o[0], (from.as_second(), -6 * 3600));
        assert_eq!(o[1].1, -5 * 3600);
        assert_eq!(o[2].1, -6 * 3600);
        assert_eq!(o[1].0, "2026-03-08T08:00:00Z".parse::<Timestamp>().unwrap().as_second());
    }

    #[test]
    fn months_and_days_have_labels() {
        let tz = TimeZone::get("America/Chicago").unwrap();
        let m = months(&tz, "2026-01-15T12:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap());
        let labels: Vec<&str> = m.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(m[1].0, "2026-02-01T06:00:00Z".parse::<Timestamp>().unwrap().as_second());
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(20535), "2026-03-23");
    }
}
