//! Phone numbers. Stored and shown in E.164 (`+15735551234`); input written the way people
//! write numbers (`(573) 555-1234`, `573.555.1234`, `+1 573 555 1234`) is normalised with
//! the US as the default country, and anything else is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form. North American numbers also obey the NANP rules (area
/// code and exchange start with 2-9), so a number that cannot exist is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidPhoneNumber;

impl fmt::Display for InvalidPhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid phone number")
    }
}

impl std::error::Error for InvalidPhoneNumber {}

impl PhoneNumber {
    /// Parses what a person typed, taking 10-digit numbers as North American.
    pub fn parse(input: &str) -> Result<Self, InvalidPhoneNumber> {
        let trimmed = input.trim();
        let (international, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(15);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(InvalidPhoneNumber),
            }
        }
        let e164 = if international {
            digits
        } else {
            match digits.len() {
                10 => format!("1{digits}"),
                11 if digits.starts_with('1') => digits,
                _ => return Err(InvalidPhoneNumber),
            }
        };
        Self::from_e164_digits(e164)
    }

    fn from_e164_digits(digits: String) -> Result<Self, InvalidPhoneNumber> {
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(InvalidPhoneNumber);
        }
        if let Some(national) = digits.strip_prefix('1') {
            let b = national.as_bytes();
            let valid = b.len() == 10 && (b'2'..=b'9').contains(&b[0]) && (b'2'..=b'9').contains(&b[3]);
            if !valid {
                return Err(InvalidPhoneNumber);
            }
        }
        Ok(PhoneNumber(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Area code, exchange and line of a North American number.
    pub fn nanp(&self) -> Option<(&str, &str, &str)> {
        let national = self.0.strip_prefix("+1")?;
        Some((&national[..3], &national[3..6], &national[6..]))
    }

    /// `(573) 555-1234` for North American numbers, E.164 otherwise.
    pub fn national_format(&self) -> String {
        match self.nanp() {
            Some((area, exchange, line)) => format!("({area}) {exchange}-{line}"),
            None => self.0.clone(),
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = InvalidPhoneNumber;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(n: PhoneNumber) -> String {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ways_people_write_a_us_number_all_normalise() {
        for input in [
            "(573) 555-1234",
            "573-555-1234",
            "573.555.1234",
            "5735551234",
            "1 573 555 1234",
            "1-573-555-1234",
            "+1 573 555 1234",
            "+15735551234",
            "  +1 (573) 555-1234 ",
        ] {
            assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), "+15735551234", "{input}");
        }
    }

    #[test]
    fn international_numbers_keep_their_country() {
        assert_eq!(PhoneNumber::parse("+44 20 7946 0958").unwrap().as_str(), "+442079460958");
        assert_eq!(PhoneNumber::parse("+44 20 7946 0958").unwrap().nanp(), None);
    }

    #[test]
    fn numbers_that_cannot_exist_are_refused() {
        for input in [
            "",
            "555-1234",
            "(073) 555-1234",
            "(573) 155-1234",
            "+1 573 555 123",
            "+1 573 555 12345",
            "+0 123 456 789",
            "+1234567",
            "+1234567890123456",
            "1-800-FLOWERS",
            "573 555 1234 ext 5",
            "25735551234",
            "+15735551234; DROP TABLE numbers",
        ] {
            assert_eq!(PhoneNumber::parse(input), Err(InvalidPhoneNumber), "{input:?}");
        }
    }

    #[test]
    fn north_american_parts_and_format() {
        let n = PhoneNumber::parse("573-555-1234").unwrap();
        assert_eq!(n.nanp(), Some(("573", "555", "1234")));
        assert_eq!(n.national_format(), "(573) 555-1234");
    }

    #[test]
    fn serde_parses_at_the_edge() {
        let n: PhoneNumber = serde_json::from_str("\"(573) 555-1234\"").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"+15735551234\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"12\"").is_err());
    }
}

/// Who called, as the carrier named them: a phone number, a caller who withheld theirs
/// (`anonymous`, `Restricted`, nothing at all …), or something else that is not a number
/// (a SIP address, a Twilio client, digits that make no number). Every call is answered
/// whatever it is; only a number can be texted back or matched with an earlier call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Number(PhoneNumber),
    /// Withheld, as the carrier wrote it (bounded).
    Withheld(String),
    /// Not a phone number, as the carrier wrote it (bounded).
    Other(String),
}

impl Caller {
    /// The most of a caller's text that is kept.
    pub const MAX_CHARS: usize = 64;

    /// What carriers send for a caller who withheld their number, lower-cased.
    const WITHHELD: [&'static str; 8] =
        ["", "anonymous", "restricted", "unavailable", "unknown", "private", "blocked", "withheld"];

    /// Reads a `From` as a carrier sent it. Twilio writes a withheld caller as `anonymous`
    /// or as `+266696687` (ANONYMOUS on a keypad); SIP as `sip:anonymous@anonymous.invalid`.
    pub fn from_carrier(raw: &str) -> Caller {
        let kept: String = raw.trim().chars().filter(|c| !c.is_control()).take(Self::MAX_CHARS).collect();
        let lower = kept.to_lowercase();
        let user =
            lower.strip_prefix("sip:").map_or(lower.as_str(), |rest| rest.split('@').next().unwrap_or(""));
        if Self::WITHHELD.contains(&user) || lower == "+266696687" {
            return Caller::Withheld(kept);
        }
        match PhoneNumber::parse(&kept) {
            Ok(number) => Caller::Number(number),
            Err(_) => Caller::Other(kept),
        }
    }

    /// As stored: the number in E.164, else the carrier's text.
    pub fn as_str(&self) -> &str {
        match self {
            Caller::Number(number) => number.as_str(),
            Caller::Withheld(text) | Caller::Other(text) => text,
        }
    }

    pub fn is_withheld(&self) -> bool {
        matches!(self, Caller::Withheld(_))
    }

    /// The number to text back or match with earlier calls, when there is one.
    pub fn number(&self) -> Option<&PhoneNumber> {
        match self {
            Caller::Number(number) => Some(number),
            Caller::Withheld(_) | Caller::Other(_) => None,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod caller_tests {
    use super::*;

    #[test]
    fn withheld_callers_are_known_in_every_spelling_carriers_use() {
        for raw in [
            "anonymous",
            "Anonymous",
            "Restricted",
            "Unavailable",
            "",
            "  ",
            "+266696687",
            "sip:anonymous@anonymous.invalid",
            "PRIVATE",
        ] {
            let caller = Caller::from_carrier(raw);
            assert!(caller.is_withheld(), "{raw:?}: {caller:?}");
            assert_eq!(caller.as_str(), raw.trim(), "kept as given");
        }
        assert_eq!(
            Caller::from_carrier("+15735551234").number().map(PhoneNumber::as_str),
            Some("+15735551234")
        );
        assert_eq!(Caller::from_carrier("573-555-1234").as_str(), "+15735551234");
        for raw in ["sip:alice@example.com", "client:agent7", "4420794609"] {
            let caller = Caller::from_carrier(raw);
            assert!(matches!(caller, Caller::Other(_)), "{raw:?}: {caller:?}");
            assert_eq!(caller.number(), None);
        }
        let long = Caller::from_carrier(&format!("sip:{}@example.com\r\n", "x".repeat(500)));
        assert_eq!(long.as_str().chars().count(), Caller::MAX_CHARS);
        assert!(!long.as_str().contains('\n'));
    }
}
