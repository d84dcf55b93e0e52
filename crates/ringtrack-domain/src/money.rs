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
