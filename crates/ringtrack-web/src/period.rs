//! The period a page reports on: two days in the URL (`date_from`, `date_to`, the
//! business's own days, as the call log takes them), picked from presets or typed.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ringtrack_domain::dates::{DateRange, DateRangeParams};

use crate::layout::alert;

/// The longest period shown: ten years of days.
const MAX_DAYS: i64 = 3660;

/// A run of whole days, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub first: Date,
    pub last: Date,
}

impl Period {
    pub fn days(self) -> i64 {
        i64::from((self.last - self.first).get_days()) + 1
    }

    /// The period of the same length that ends the day before this one begins.
    pub fn previous(self) -> Period {
        let last = self.first.yesterday().unwrap_or(self.first);
        let first = last.checked_sub(jiff::Span::new().days(self.days() - 1)).unwrap_or(last);
        Period { first, last }
    }

    /// The call log's words for it.
    pub fn query(self) -> String {
        format!("date_from={}&date_to={}", self.first, self.last)
    }

    /// Its instants in the business's zone.
    pub fn range(self, zone: &TimeZone) -> Result<DateRange, String> {
        let params = DateRangeParams {
            date_from: Some(self.first.to_string()),
            date_to: Some(self.last.to_string()),
            ..Default::default()
        };
        DateRange::parse_in(&params, zone).map_err(|errors| errors.to_string())
    }

    /// `Nov 8, 2026 – Dec 7, 2026`.
    pub fn words(self) -> String {
        format!("{} – {}", self.first.strftime("%b %-d, %Y"), self.last.strftime("%b %-d, %Y"))
    }
}

/// Today in `zone`, by the store's clock.
pub fn today_in(state: &crate::WebState, zone: &TimeZone) -> Date {
    state.store.now().to_zoned(zone.clone()).date()
}

/// The presets, as people name them: today, the last 7 and 30 days, this month, last month.
pub fn presets(today: Date) -> [(&'static str, Period); 5] {
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

/// The last 30 days: the period when none is asked for.
pub fn default_period(today: Date) -> Period {
    presets(today)[2].1
}

/// The period two URL values ask for (`None` for neither), or what is wrong with them.
pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<Option<Period>, String> {
    fn given(value: Option<&str>) -> Option<&str> {
        value.map(str::trim).filter(|v| !v.is_empty())
    }
    let day = |field: &str, raw: &str| {
        raw.parse::<Date>().map_err(|_| format!("{field}: must be a day, like {today}"))
    };
    match (given(from), given(to)) {
        (None, None) => Ok(None),
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
            Ok(Some(period))
        }
    }
}

/// The presets as links (and "All time" where a page allows it), carrying `keep`, the
/// page's other parameters.
pub fn presets_nav(
    action: &str,
    keep: &[(&str, String)],
    current: Option<Period>,
    today: Date,
    all_time: bool,
) -> Markup {
    let kept: Vec<String> =
        keep.iter().map(|(name, value)| format!("{name}={}", crate::calls::encode(value))).collect();
    let href = |period: Option<Period>| {
        let mut parts = kept.clone();
        parts.extend(period.map(Period::query));
        if parts.is_empty() { action.to_owned() } else { format!("{action}?{}", parts.join("&")) }
    };
    html! {
        nav.periods aria-label="Period" {
            ul {
                @for (label, preset) in presets(today) {
                    li { a href=(href(Some(preset))) aria-current=[(Some(preset) == current).then_some("page")] { (label) } }
                }
                @if all_time {
                    li { a href=(href(None)) aria-current=[current.is_none().then_some("page")] { "All time" } }
                }
            }
        }
    }
}

/// The presets and a form for any two days.
pub fn picker(action: &str, period: Period, today: Date, error: Option<&str>) -> Markup {
    html! {
        (presets_nav(action, &[], Some(period), today, false))
        (alert(error, "period-error"))
        form.period method="get" action=(action) {
            label for="date_from" { "From" }
            input id="date_from" name="date_from" type="date" value=(period.first) aria-describedby=[error.map(|_| "period-error")];
            label for="date_to" { "To" }
            input id="date_to" name="date_to" type="date" value=(period.last);
            button type="submit" { "Show" }
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
        assert!(parse(Some("2026-03-08"), Some("2026-03-01"), today).unwrap_err().starts_with("date_to"));
        assert!(parse(Some("yesterday"), None, today).unwrap_err().starts_with("date_from"));
        assert_eq!(parse(Some(" "), None, today), Ok(None));
    }
}
