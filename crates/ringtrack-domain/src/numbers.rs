//! Tracking numbers: their kinds, their life (active, suspended when a renewal cannot be
//! paid, released), and when each monthly renewal falls due.

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::money::Cents;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Local,
    TollFree,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    Active,
    /// A renewal could not be paid: the number still answers calls until the balance
    /// allows the renewal.
    Suspended,
    Released,
}

text_enum!(NumberType, "local, toll_free", NumberType::Local => "local", NumberType::TollFree => "toll_free");
text_enum!(
    NumberStatus, "active, suspended, released",
    NumberStatus::Active => "active",
    NumberStatus::Suspended => "suspended",
    NumberStatus::Released => "released"
);

/// What the service costs: numbers a month, by kind, calls by the started minute, and
/// texts by the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prices {
    pub local: Cents,
    pub toll_free: Cents,
    pub call_minute: Cents,
    pub sms_segment: Cents,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            local: Cents::new(300),
            toll_free: Cents::new(500),
            call_minute: Cents::new(5),
            sms_segment: Cents::new(1),
        }
    }
}

impl Prices {
    /// A call of `seconds` costs each minute it started.
    pub fn call(&self, seconds: i64) -> Cents {
        let seconds = seconds.max(0);
        let minutes = seconds / 60 + i64::from(seconds % 60 > 0);
        Cents::new(minutes.saturating_mul(self.call_minute.get()))
    }

    /// A text of `segments` segments.
    pub fn text(&self, segments: u32) -> Cents {
        Cents::new(i64::from(segments) * self.sms_segment.get())
    }

    pub fn monthly(&self, kind: NumberType) -> Cents {
        match kind {
            NumberType::Local => self.local,
            NumberType::TollFree => self.toll_free,
        }
    }
}

/// How long a released number rests before it may be sold again.
pub const RELEASE_AGING_DAYS: i64 = 30;

/// When the renewal after `months_paid` paid months falls due: the purchase's anniversary,
/// the same day of the month (clamped to the month's last day, so a number bought on
/// 31 January renews on 28 or 29 February, then on 31 March).
pub fn renewal_due(purchased_at: Timestamp, months_paid: u32) -> Timestamp {
    let start = purchased_at.to_zoned(jiff::tz::TimeZone::UTC);
    start.checked_add(i64::from(months_paid).months()).map(|due| due.timestamp()).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn renewals_fall_on_the_monthly_anniversary() {
        let bought = at("2026-01-31T10:15:00Z");
        assert_eq!(renewal_due(bought, 1), at("2026-02-28T10:15:00Z"));
        assert_eq!(renewal_due(bought, 2), at("2026-03-31T10:15:00Z"));
        assert_eq!(renewal_due(bought, 13), at("2027-02-28T10:15:00Z"));
        assert_eq!(renewal_due(at("2027-12-29T00:00:00Z"), 2), at("2028-02-29T00:00:00Z"));
    }

    #[test]
    fn prices_by_kind_and_names_round_trip() {
        let prices = Prices::default();
        assert_eq!(prices.monthly(NumberType::Local), Cents::new(300));
        assert_eq!(prices.monthly(NumberType::TollFree), Cents::new(500));
        assert_eq!(prices.call(0), Cents::ZERO);
        assert_eq!(prices.call(1), Cents::new(5));
        assert_eq!(prices.call(60), Cents::new(5));
        assert_eq!(prices.call(61), Cents::new(10));
        // No stored or reported duration can overflow a cost.
        assert_eq!(prices.call(i64::MAX), Cents::new((i64::MAX / 60 + 1) * 5));
        let dear = Prices { call_minute: Cents::new(i64::MAX / 2), ..prices };
        assert_eq!(dear.call(3600), Cents::new(i64::MAX), "saturates");
        assert_eq!(prices.call(-5), Cents::ZERO);
        assert_eq!("toll_free".parse::<NumberType>(), Ok(NumberType::TollFree));
        assert_eq!(NumberStatus::Suspended.to_string(), "suspended");
        assert!("gone".parse::<NumberStatus>().is_err());
    }
}
