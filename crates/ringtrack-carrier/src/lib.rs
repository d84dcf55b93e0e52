//! The carrier boundary: buying and releasing tracking numbers, pointing their webhooks at
//! this server, sending texts and fetching recordings. Two carriers implement it: the
//! sandbox (embedded, no account needed) and the Twilio REST dialect (Twilio, SignalWire).

pub mod sandbox;
pub mod sandbox_call;
pub mod signature;
pub mod twilio;
pub mod twiml;
pub mod webhook_params;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use ringtrack_domain::{NumberType, PhoneNumber};

pub use sandbox::SandboxCarrier;
pub use twilio::{TwilioCarrier, TwilioConfig};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to look for. `contains` holds digits only (letters already turned into keypad
/// digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    pub number_type: NumberType,
    pub area_code: Option<String>,
    pub contains: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailableNumber {
    pub phone_number: PhoneNumber,
    pub friendly_name: String,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub number_type: NumberType,
}

/// Where the carrier sends a number's calls, texts and call progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhooks {
    pub voice_url: String,
    pub sms_url: String,
    pub status_callback: String,
    /// Where the carrier reports the progress of texts sent.
    pub sms_status_callback: String,
}

impl Webhooks {
    /// This server's webhooks, at its public URL.
    pub fn at(public_url: &str) -> Webhooks {
        let base = public_url.trim_end_matches('/');
        Webhooks {
            voice_url: format!("{base}/webhooks/twilio/voice"),
            sms_url: format!("{base}/webhooks/twilio/sms"),
            status_callback: format!("{base}/webhooks/twilio/voice/status"),
            sms_status_callback: format!("{base}/webhooks/twilio/sms/status"),
        }
    }
}

/// A number the carrier now bills us for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The carrier's own id of the number (Twilio: `PN…`), needed to change or release it.
    pub carrier_sid: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundSms {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub body: String,
    pub status_callback: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentSms {
    pub carrier_sid: String,
    /// The carrier's first status (`queued`, `accepted`, …).
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CarrierError {
    /// The request cannot be asked of a carrier as it is (an unknown area code, …).
    #[error("{field}: {message}")]
    InvalidRequest { field: &'static str, message: String },
    /// The carrier answered and said no; `message` is the carrier's own.
    #[error("{message}")]
    Refused { message: String, code: Option<i64> },
    /// The carrier could not be reached or failed.
    #[error("carrier unavailable: {0}")]
    Unavailable(String),
}

/// Where a call stands at the carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallProgress {
    /// Queued, ringing or in progress.
    Live,
    /// Over (completed, busy, unanswered, failed or canceled), or unknown to the carrier.
    Ended { duration_seconds: i64 },
}

/// A carrier. Methods return boxed futures so that the server can hold `dyn Carrier`.
pub trait Carrier: Send + Sync {
    fn search(&self, query: SearchQuery) -> BoxFuture<'_, Result<Vec<AvailableNumber>, CarrierError>>;

    fn buy(&self, number: PhoneNumber, hooks: Webhooks) -> BoxFuture<'_, Result<Provisioned, CarrierError>>;

    fn update_webhooks(
        &self,
        carrier_sid: String,
        hooks: Webhooks,
    ) -> BoxFuture<'_, Result<(), CarrierError>>;

    fn release(&self, carrier_sid: String) -> BoxFuture<'_, Result<(), CarrierError>>;

    fn send_sms(&self, sms: OutboundSms) -> BoxFuture<'_, Result<SentSms, CarrierError>>;

    /// The audio of a recording the carrier announced at `recording_url`.
    fn fetch_recording(&self, recording_url: String) -> BoxFuture<'_, Result<Recording, CarrierError>>;

    /// Deletes a recording at the carrier (once it is stored here). One already gone is
    /// not an error.
    fn delete_recording(&self, recording_url: String) -> BoxFuture<'_, Result<(), CarrierError>>;

    /// Where a call stands: asked when its final status callback never arrived (this
    /// server was down, or the callback failed), so that the call is not in progress forever.
    fn call_progress(&self, call_sid: String) -> BoxFuture<'_, Result<CallProgress, CarrierError>>;
}

/// Which numbers are spoken for: owned by any business, or released too recently to be
/// sold again. The sandbox asks it (the server answers from its numbers table); a real
/// carrier keeps this knowledge itself.
pub trait NumberRegistry: Send + Sync {
    fn unavailable<'a>(
        &'a self,
        candidates: &'a [PhoneNumber],
    ) -> BoxFuture<'a, Result<HashSet<PhoneNumber>, CarrierError>>;
}

/// Turns a `contains` pattern into keypad digits (`PLUMB` → `75862`); refuses anything
/// but letters and digits, or a pattern longer than a number.
pub fn keypad_digits(pattern: &str) -> Result<String, CarrierError> {
    let invalid =
        |message: &str| CarrierError::InvalidRequest { field: "contains", message: message.to_owned() };
    let digits: String = pattern
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| match c.to_ascii_uppercase() {
            d @ '0'..='9' => Some(d),
            'A'..='C' => Some('2'),
            'D'..='F' => Some('3'),
            'G'..='I' => Some('4'),
            'J'..='L' => Some('5'),
            'M'..='O' => Some('6'),
            'P'..='S' => Some('7'),
            'T'..='V' => Some('8'),
            'W'..='Z' => Some('9'),
            _ => None,
        })
        .collect::<Option<String>>()
        .ok_or_else(|| invalid("may hold only digits and letters"))?;
    if digits.is_empty() || digits.len() > 10 {
        return Err(invalid("must be 1 to 10 digits or letters"));
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_patterns_become_keypad_digits() {
        assert_eq!(keypad_digits("55").unwrap(), "55");
        assert_eq!(keypad_digits("plumb").unwrap(), "75862");
        assert_eq!(keypad_digits("HVAC-24").unwrap(), "482224");
        assert!(keypad_digits("").is_err());
        assert!(keypad_digits("5%").is_err());
        assert!(keypad_digits("12345678901").is_err());
    }
}
