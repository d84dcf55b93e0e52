//! Google Ads offline call conversions: which calls count, and how the import file Google
//! reads writes a conversion's time.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// What makes a call a conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub min_duration_seconds: i64,
    pub qualified_only: bool,
}

/// Why a call is not a conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// No Google click brought it (no gclid): Google could not match it to an ad.
    NoGclid,
    /// Shorter than the minimum duration.
    TooShort,
    /// Not qualified (by a person, or by the score), with `qualified_only`.
    NotQualified,
}

impl Ineligible {
    pub fn as_str(self) -> &'static str {
        match self {
            Ineligible::NoGclid => "no_gclid",
            Ineligible::TooShort => "too_short",
            Ineligible::NotQualified => "not_qualified",
        }
    }

    pub fn explain(self, rules: &Rules) -> String {
        match self {
            Ineligible::NoGclid => {
                "no Google click id (the call did not come from a tracked Google ad)".into()
            }
            Ineligible::TooShort => format!("shorter than {} seconds", rules.min_duration_seconds),
            Ineligible::NotQualified => "not qualified".into(),
        }
    }
}

/// Whether a call is a conversion; the first reason it is not, otherwise.
pub fn eligibility(
    gclid: Option<&str>,
    duration_seconds: i64,
    qualified: bool,
    rules: &Rules,
) -> Result<(), Ineligible> {
    if gclid.is_none_or(|g| g.trim().is_empty()) {
        return Err(Ineligible::NoGclid);
    }
    if duration_seconds < rules.min_duration_seconds {
        return Err(Ineligible::TooShort);
    }
    if rules.qualified_only && !qualified {
        return Err(Ineligible::NotQualified);
    }
    Ok(())
}

/// When a conversion happened, as the import file writes it: `yyyy-MM-dd HH:mm:ss` in the
/// zone its `Parameters:TimeZone=` line names.
pub fn conversion_time(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_qualify_by_click_duration_and_verdict_in_that_order() {
        let rules = Rules { min_duration_seconds: 60, qualified_only: true };
        assert_eq!(eligibility(Some("abc"), 90, true, &rules), Ok(()));
        assert_eq!(eligibility(None, 90, true, &rules), Err(Ineligible::NoGclid));
        assert_eq!(eligibility(Some(" "), 10, false, &rules), Err(Ineligible::NoGclid));
        assert_eq!(eligibility(Some("abc"), 59, false, &rules), Err(Ineligible::TooShort));
        assert_eq!(eligibility(Some("abc"), 60, false, &rules), Err(Ineligible::NotQualified));
        let any = Rules { min_duration_seconds: 0, qualified_only: false };
        assert_eq!(eligibility(Some("abc"), 0, false, &any), Ok(()));
    }

    #[test]
    fn conversion_times_are_in_the_files_time_zone() {
        let at: Timestamp = "2026-03-23T19:30:00Z".parse().unwrap();
        assert_eq!(conversion_time(at, &TimeZone::get("America/Chicago").unwrap()), "2026-03-23 14:30:00");
        assert_eq!(conversion_time(at, &TimeZone::UTC), "2026-03-23 19:30:00");
    }
}
