//! Date filters: `date_from`/`date_to` (or their aliases `start_date`/`end_date`), each an
//! ISO 8601 date or date-time. A bare `date_to` date includes that whole day (UTC); a
//! date-time includes that second. The range is half-open: `[from, to)`.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Deserialize;

use crate::validation::FieldErrors;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DateRangeParams {
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
}

#[derive(Clone, Copy)]
enum End {
    Start,
    Finish,
}

impl DateRange {
    /// Dates are whole UTC days (the API's documented meaning).
    pub fn parse(params: &DateRangeParams) -> Result<DateRange, FieldErrors> {
        DateRange::parse_in(params, &jiff::tz::TimeZone::UTC)
    }

    /// Dates are whole days in `zone` (a person's view of their business's days).
    pub fn parse_in(params: &DateRangeParams, zone: &jiff::tz::TimeZone) -> Result<DateRange, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut pick = |name: &'static str,
                        alias: &'static str,
                        value: &Option<String>,
                        other: &Option<String>| match (value, other) {
            (Some(a), Some(b)) if a != b => {
                errors.push(alias, format!("conflicts with {name}; give one of them"));
                None
            }
            (Some(v), _) | (None, Some(v)) => Some((if value.is_some() { name } else { alias }, v.clone())),
            (None, None) => None,
        };
        let from = pick("date_from", "start_date", &params.date_from, &params.start_date);
        let to = pick("date_to", "end_date", &params.date_to, &params.end_date);
        let mut bound = |which: Option<(&'static str, String)>, end: End| {
            let (field, raw) = which?;
            match parse_bound(&raw, end, zone) {
                Some(t) => Some(t),
                None => {
                    errors.push(
                        field,
                        "must be an ISO 8601 date (2026-03-23) or date-time (2026-03-23T14:30:00Z)",
                    );
                    None
                }
            }
        };
        let range = DateRange { from: bound(from, End::Start), to: bound(to, End::Finish) };
        if let (Some(from), Some(to)) = (range.from, range.to)
            && to <= from
        {
            errors.push("date_to", "must not be before date_from");
        }
        errors.finish(range)
    }
}

fn parse_bound(raw: &str, end: End, zone: &jiff::tz::TimeZone) -> Option<Timestamp> {
    let raw = raw.trim();
    if let Ok(t) = raw.parse::<Timestamp>() {
        return Some(match end {
            End::Start => t,
            End::Finish => t.checked_add(SignedDuration::from_secs(1)).ok()?,
        });
    }
    let date: Date = raw.parse().ok()?;
    let date = match end {
        End::Start => date,
        End::Finish => date.checked_add(1.day()).ok()?,
    };
    date.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<DateRange, Vec<String>> {
        let mut p = DateRangeParams::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "date_from" => p.date_from = v,
                "date_to" => p.date_to = v,
                "start_date" => p.start_date = v,
                "end_date" => p.end_date = v,
                _ => unreachable!(),
            }
        }
        DateRange::parse(&p).map_err(|e| e.into_vec().into_iter().map(|e| e.field).collect())
    }

    fn ts(s: &str) -> Option<Timestamp> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn bare_dates_cover_whole_days() {
        let r = parse(&[("date_from", "2026-03-01"), ("date_to", "2026-03-31")]).unwrap();
        assert_eq!(r.from, ts("2026-03-01T00:00:00Z"));
        assert_eq!(r.to, ts("2026-04-01T00:00:00Z"));
        let one_day = parse(&[("date_from", "2026-03-23"), ("date_to", "2026-03-23")]).unwrap();
        assert_eq!(one_day.to, ts("2026-03-24T00:00:00Z"));
    }

    #[test]
    fn date_times_are_taken_to_the_second() {
        let r = parse(&[("start_date", "2026-03-23T14:30:00Z"), ("end_date", "2026-03-23T16:00:00+01:00")])
            .unwrap();
        assert_eq!(r.from, ts("2026-03-23T14:30:00Z"));
        assert_eq!(r.to, ts("2026-03-23T15:00:01Z"));
    }

    #[test]
    fn bad_dates_and_ranges_are_named() {
        assert_eq!(parse(&[("date_from", "yesterday")]).unwrap_err(), ["date_from"]);
        assert_eq!(parse(&[("date_to", "2026-02-30")]).unwrap_err(), ["date_to"]);
        assert_eq!(
            parse(&[("date_from", "2026-03-02"), ("date_to", "2026-03-01")]).unwrap_err(),
            ["date_to"]
        );
        assert_eq!(
            parse(&[("date_from", "2026-03-01"), ("start_date", "2026-03-02")]).unwrap_err(),
            ["start_date"]
        );
        assert_eq!(parse(&[]).unwrap(), DateRange::default());
    }
}
