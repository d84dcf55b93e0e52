//! Money is whole cents in an `i64`: no floating point ever touches a balance.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn new(cents: i64) -> Self {
        Self(cents)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Dollars as people type them — `1250`, `1,250.5`, `$1,250.00` — to the cent; `None`
    /// for anything else (a negative amount, a third decimal, a letter, more than 15 digits).
    pub fn parse_dollars(raw: &str) -> Option<Cents> {
        let raw = raw.trim();
        let raw = raw.strip_prefix('$').unwrap_or(raw).replace(',', "");
        let (whole, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || fraction.len() > 2
            || whole.len() > 15
        {
            return None;
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
        whole.checked_mul(100)?.checked_add(cents).map(Cents)
    }

    /// `None` on overflow, which the callers report instead of wrapping.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_read_as_people_type_them() {
        let read = |raw| Cents::parse_dollars(raw).map(Cents::get);
        assert_eq!(read("1250"), Some(125_000));
        assert_eq!(read(" $1,250.5 "), Some(125_050));
        assert_eq!(read("0.07"), Some(7));
        assert_eq!(read(".5"), Some(50));
        for bad in ["", "-5", "1.234", "12a", "$", ".", "1e3", "9999999999999999"] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn displays_as_dollars_and_cents() {
        assert_eq!(Cents::new(4500).to_string(), "$45.00");
        assert_eq!(Cents::new(-5).to_string(), "-$0.05");
        assert_eq!(Cents::new(i64::MIN).to_string(), "-$92233720368547758.08");
    }

    #[test]
    fn addition_refuses_to_overflow() {
        assert_eq!(Cents::new(1).checked_add(Cents::new(2)), Some(Cents::new(3)));
        assert_eq!(Cents::new(i64::MAX).checked_add(Cents::new(1)), None);
    }
}
