//! Text messages: how many segments a body costs, what a compliance keyword is, and how a
//! message's status may move. Pure rules, shared by sending, receiving and the carrier's
//! status callbacks.

use serde::Serialize;

/// The longest body accepted (ten or more segments; carriers refuse longer).
pub const MAX_BODY_CHARS: usize = 1600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 03.38 alphabet: 160 septets alone, 153 per segment when split.
    Gsm7,
    /// Any character outside it: 70 UTF-16 units alone, 67 per segment when split.
    Ucs2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    pub count: u32,
}

/// GSM 03.38's basic alphabet (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Its extension table (an escape septet and the character: two septets each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{000C}";

/// Septets a character takes in GSM-7, or `None` when it needs UCS-2.
fn septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// How many segments `body` is sent as. A character is never split across two segments
/// (an escape pair, or a UTF-16 surrogate pair, stays whole), as handsets require.
pub fn segments(body: &str) -> Segments {
    let gsm: Option<Vec<usize>> = body.chars().map(septets).collect();
    let (encoding, units, single, per_part) = match gsm {
        Some(units) => (Encoding::Gsm7, units, 160, 153),
        None => (Encoding::Ucs2, body.chars().map(char::len_utf16).collect(), 70, 67),
    };
    let total: usize = units.iter().sum();
    if total <= single {
        return Segments { encoding, count: 1 };
    }
    let mut count = 1;
    let mut used = 0;
    for width in units {
        if used + width > per_part {
            count += 1;
            used = 0;
        }
        used += width;
    }
    Segments { encoding, count }
}

/// What a compliance keyword asks. Carriers match the whole message, trimmed, in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

impl Keyword {
    pub fn of(body: &str) -> Option<Keyword> {
        let word = body.trim().to_ascii_uppercase();
        match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => {
                Some(Keyword::OptOut)
            }
            "START" | "UNSTOP" | "YES" => Some(Keyword::OptIn),
            "HELP" | "INFO" => Some(Keyword::Help),
            _ => None,
        }
    }
}

/// The automatic replies to compliance keywords.
pub fn opt_out_reply(business: &str) -> String {
    format!(
        "{business}: You have been unsubscribed and will receive no more messages. Reply START to resubscribe."
    )
}

pub fn opt_in_reply(business: &str) -> String {
    format!("{business}: You have been resubscribed. Reply STOP to unsubscribe, HELP for help.")
}

pub fn help_reply(business: &str) -> String {
    format!("{business}: Reply STOP to unsubscribe. Msg & data rates may apply.")
}

/// A carrier error as users read it: Twilio's code and what it means.
pub fn carrier_error(code: &str) -> String {
    let meaning = match code {
        "30001" => "queue overflow",
        "30002" => "account suspended",
        "30003" => "unreachable destination handset",
        "30004" => "message blocked",
        "30005" => "unknown destination handset",
        "30006" => "landline or unreachable carrier",
        "30007" => "filtered by the carrier",
        "30008" => "unknown error",
        "21610" => "the recipient has unsubscribed",
        "21614" => "not a mobile number",
        _ => "carrier error",
    };
    format!("{code}: {meaning}")
}

/// A message's status. The carrier's callbacks can arrive out of order; a status only moves
/// forward (a late `sent` never undoes `delivered`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Queued,
    Sent,
    Delivered,
    Failed,
    Received,
}

text_enum!(
    Status, "queued, sent, delivered, failed, received",
    Status::Queued => "queued",
    Status::Sent => "sent",
    Status::Delivered => "delivered",
    Status::Failed => "failed",
    Status::Received => "received"
);

impl Status {
    /// Twilio's `MessageStatus` as ours; `None` for statuses that say nothing new
    /// (`receiving`, `scheduled`, `read` and the like).
    pub fn from_carrier(raw: &str) -> Option<Status> {
        match raw {
            "accepted" | "queued" | "sending" => Some(Status::Queued),
            "sent" => Some(Status::Sent),
            "delivered" => Some(Status::Delivered),
            "undelivered" | "failed" | "canceled" => Some(Status::Failed),
            _ => None,
        }
    }

    /// Whether a message at `self` may move to `next`.
    pub fn may_become(self, next: Status) -> bool {
        match self {
            Status::Delivered | Status::Failed | Status::Received => false,
            Status::Queued | Status::Sent => next > self && next != Status::Received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(body: &str) -> (Encoding, u32) {
        let s = segments(body);
        (s.encoding, s.count)
    }

    #[test]
    fn gsm7_bodies_split_at_160_then_153() {
        assert_eq!(count(&"a".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(count(&"a".repeat(161)), (Encoding::Gsm7, 2));
        assert_eq!(count(&"a".repeat(306)), (Encoding::Gsm7, 2));
        assert_eq!(count(&"a".repeat(307)), (Encoding::Gsm7, 3));
        assert_eq!(count(""), (Encoding::Gsm7, 1));
    }

    #[test]
    fn extended_characters_take_two_septets_and_never_straddle_segments() {
        // 80 euro signs are 160 septets: one segment.
        assert_eq!(count(&"€".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(count(&format!("{}a", "€".repeat(80))), (Encoding::Gsm7, 2));
        // 152 septets then an escape pair: the pair moves to the next segment.
        let body = format!("{}{}{}", "a".repeat(152), "{", "a".repeat(10));
        assert_eq!(count(&body), (Encoding::Gsm7, 2));
        let body = format!("{}{}{}", "a".repeat(152), "{", "a".repeat(152));
        assert_eq!(segments(&body).count, 3, "153 + 154 septets do not fit two segments once the pair moves");
    }

    #[test]
    fn one_character_outside_gsm7_makes_it_ucs2_at_70_then_67() {
        assert_eq!(count(&"a".repeat(70).replacen('a', "é", 1)), (Encoding::Gsm7, 1), "é is in GSM-7");
        assert_eq!(count(&format!("{}ł", "a".repeat(69))), (Encoding::Ucs2, 1));
        assert_eq!(count(&format!("{}ł", "a".repeat(70))), (Encoding::Ucs2, 2));
        assert_eq!(count(&format!("{}ł", "a".repeat(133))), (Encoding::Ucs2, 2));
        assert_eq!(count(&format!("{}ł", "a".repeat(134))), (Encoding::Ucs2, 3));
        // An emoji is two UTF-16 units: 35 fit one segment, 36 do not.
        assert_eq!(count(&"😀".repeat(35)), (Encoding::Ucs2, 1));
        assert_eq!(count(&"😀".repeat(36)), (Encoding::Ucs2, 2));
        // 66 units then an emoji: the pair is not split, so it starts segment two.
        assert_eq!(count(&format!("{}😀{}", "ł".repeat(66), "ł".repeat(65))), (Encoding::Ucs2, 2));
        assert_eq!(count(&format!("{}😀{}", "ł".repeat(66), "ł".repeat(66))), (Encoding::Ucs2, 3));
    }

    #[test]
    fn keywords_match_the_whole_trimmed_body_in_any_case() {
        assert_eq!(Keyword::of("STOP"), Some(Keyword::OptOut));
        assert_eq!(Keyword::of("  stop \n"), Some(Keyword::OptOut));
        assert_eq!(Keyword::of("Unsubscribe"), Some(Keyword::OptOut));
        assert_eq!(Keyword::of("unstop"), Some(Keyword::OptIn));
        assert_eq!(Keyword::of("Help"), Some(Keyword::Help));
        assert_eq!(Keyword::of("please stop calling"), None);
        assert_eq!(Keyword::of("STOP!"), None);
    }

    #[test]
    fn statuses_only_move_forward() {
        assert!(Status::Queued.may_become(Status::Sent));
        assert!(Status::Sent.may_become(Status::Delivered));
        assert!(Status::Queued.may_become(Status::Failed));
        assert!(!Status::Delivered.may_become(Status::Sent));
        assert!(!Status::Delivered.may_become(Status::Failed));
        assert!(!Status::Failed.may_become(Status::Delivered));
        assert!(!Status::Sent.may_become(Status::Queued));
        assert_eq!(Status::from_carrier("undelivered"), Some(Status::Failed));
        assert_eq!(Status::from_carrier("receiving"), None);
    }
}
