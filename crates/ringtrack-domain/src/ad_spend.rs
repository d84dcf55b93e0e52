//! What a business spent on its marketing, per month and source (and, optionally,
//! campaign), as a person enters it: what turns call counts into a cost per call and a cost
//! per qualified lead.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use crate::Cents;
use crate::validation::{FieldError, FieldErrors, parse_name};

/// A calendar month, `2026-11`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

impl Month {
    pub fn new(year: i16, month: i8) -> Option<Month> {
        ((2000..=2100).contains(&year) && (1..=12).contains(&month)).then_some(Month { year, month })
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn month(self) -> i8 {
        self.month
    }

    pub fn parse(field: &str, raw: &str) -> Result<Month, FieldError> {
        raw.trim()
            .parse()
            .map_err(|_| FieldError::new(field, "must be a month from 2000-01 to 2100-12, like 2026-11"))
    }
}

impl FromStr for Month {
    type Err = ();

    fn from_str(raw: &str) -> Result<Month, ()> {
        let (year, month) = raw.split_once('-').ok_or(())?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(());
        }
        Month::new(year.parse().map_err(|_| ())?, month.parse().map_err(|_| ())?).ok_or(())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The most a source or campaign name runs (as the website script keeps `utm_*` values).
pub const MAX_NAME_CHARS: usize = 200;
/// The most one month's spend on one source may be: $1,000,000,000.00.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000_000;

/// One month's spend on a source (and campaign, when given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdSpend {
    pub month: Month,
    pub source: String,
    pub campaign: Option<String>,
    pub amount: Cents,
}

impl AdSpend {
    /// Checks what a person or a client sent, naming every field that is wrong.
    pub fn parse(
        month: &str,
        source: &str,
        campaign: Option<&str>,
        amount_cents: i64,
    ) -> Result<AdSpend, FieldErrors> {
        let mut errors = FieldErrors::new();
        let month = errors.take(Month::parse("month", month));
        let source = errors.take(parse_name("source", source, MAX_NAME_CHARS));
        let campaign = match campaign.map(str::trim).filter(|c| !c.is_empty()) {
            Some(campaign) => errors.take(parse_name("campaign", campaign, MAX_NAME_CHARS)).map(Some),
            None => Some(None),
        };
        if !(0..=MAX_AMOUNT_CENTS).contains(&amount_cents) {
            errors.push("amount_cents", format!("must be from 0 to {MAX_AMOUNT_CENTS}"));
        }
        match (month, source, campaign) {
            (Some(month), Some(source), Some(campaign)) if errors.is_empty() => {
                Ok(AdSpend { month, source, campaign, amount: Cents::new(amount_cents) })
            }
            _ => Err(errors),
        }
    }
}

impl Month {
    /// The month a day falls in.
    pub fn of(day: Date) -> Option<Month> {
        Month::new(day.year(), day.month())
    }

    fn first_day(self) -> Date {
        Date::new(self.year, self.month, 1).expect("a month's first day exists")
    }
}

/// What was spent on a source (and campaign) over some days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spent {
    pub source: String,
    pub campaign: Option<String>,
    pub amount: Cents,
}

/// The spend over the days `first` to `last` (both included): each month's amount spread
/// evenly over its days, so a period of part of a month bears that part of its spend. One
/// row per source and campaign, in the order first met.
pub fn spent_over(spends: &[AdSpend], first: Date, last: Date) -> Vec<Spent> {
    let mut spent: Vec<Spent> = Vec::new();
    for spend in spends {
        let start = spend.month.first_day();
        let days = i64::from(start.days_in_month());
        let end = start.last_of_month();
        let (from, to) = (start.max(first), end.min(last));
        if from > to {
            continue;
        }
        let covered = i64::from((to - from).get_days()) + 1;
        // Rounded to the nearest cent; a whole month is exactly its amount.
        let share = (spend.amount.get() * covered + days / 2) / days;
        match spent.iter_mut().find(|s| s.source == spend.source && s.campaign == spend.campaign) {
            Some(row) => row.amount = Cents::new(row.amount.get() + share),
            None => spent.push(Spent {
                source: spend.source.clone(),
                campaign: spend.campaign.clone(),
                amount: Cents::new(share),
            }),
        }
    }
    spent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_as_written_and_bounded() {
        assert_eq!("2026-11".parse::<Month>().unwrap().to_string(), "2026-11");
        assert!("2026-11".parse::<Month>().unwrap() > "2026-02".parse::<Month>().unwrap());
        for bad in [
            "2026-13",
            "2026-00",
            "1999-12",
            "2101-01",
            "2026-1",
            "26-11",
            "2026/11",
            "",
            "２０２６-11",
            "2026-11-01",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_wrong_field_is_named() {
        let spend = AdSpend::parse("2026-11", " google ", Some(""), 125_000).unwrap();
        assert_eq!(
            (spend.source.as_str(), spend.campaign, spend.amount),
            ("google", None, Cents::new(125_000))
        );
        let refused = AdSpend::parse("November", "", Some("x\u{7}"), -1).unwrap_err();
        let fields: Vec<_> = refused.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["month", "source", "campaign", "amount_cents"]);
        assert!(AdSpend::parse("2026-11", "google", None, MAX_AMOUNT_CENTS + 1).is_err());
    }

    #[test]
    fn spend_is_spread_over_its_months_days() {
        let day = |d: &str| d.parse::<Date>().unwrap();
        let spends = [
            AdSpend::parse("2026-11", "google", None, 300_000).unwrap(),
            AdSpend::parse("2026-12", "google", None, 310_000).unwrap(),
            AdSpend::parse("2026-11", "google", Some("brand"), 1_000).unwrap(),
        ];
        // November whole, and the ten days from Nov 26 to Dec 5 (5 + 5 of 30 and 31 days).
        let november = spent_over(&spends, day("2026-11-01"), day("2026-11-30"));
        assert_eq!(november[0].amount, Cents::new(300_000));
        assert_eq!(november[1].amount, Cents::new(1_000));
        let across = spent_over(&spends, day("2026-11-26"), day("2026-12-05"));
        assert_eq!(across[0].amount, Cents::new(50_000 + 50_000));
        assert_eq!((across[1].campaign.as_deref(), across[1].amount), (Some("brand"), Cents::new(167)));
        assert!(spent_over(&spends, day("2027-01-01"), day("2027-01-31")).is_empty());
    }
}
