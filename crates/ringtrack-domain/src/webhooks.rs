//! Outbound webhooks: the events a business can subscribe to, how a delivery is signed,
//! when a failed one is tried again, and the headers a business may add. Pure rules;
//! the sending is the binary's worker.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::FieldErrors;
use crate::secrets::{SealError, Sealer};

/// What happened, as an event names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    CallCompleted,
    CallMissed,
    CallVoicemail,
    CallScored,
    SmsReceived,
    SmsStatus,
    FormSubmitted,
    /// The sample `POST /webhooks/{id}/test` sends; no one subscribes to it.
    WebhookTest,
}

text_enum!(
    EventType, "call.completed, call.missed, call.voicemail, call.scored, sms.received, sms.status, form.submitted",
    EventType::CallCompleted => "call.completed",
    EventType::CallMissed => "call.missed",
    EventType::CallVoicemail => "call.voicemail",
    EventType::CallScored => "call.scored",
    EventType::SmsReceived => "sms.received",
    EventType::SmsStatus => "sms.status",
    EventType::FormSubmitted => "form.submitted",
    EventType::WebhookTest => "webhook.test"
);

/// What an event is about, and so what its body carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Call,
    Message,
    Form,
    Nothing,
}

impl EventType {
    /// The events a business may subscribe an endpoint to.
    pub const SUBSCRIBABLE: [EventType; 7] = [
        EventType::CallCompleted,
        EventType::CallMissed,
        EventType::CallVoicemail,
        EventType::CallScored,
        EventType::SmsReceived,
        EventType::SmsStatus,
        EventType::FormSubmitted,
    ];

    pub fn subject(self) -> Subject {
        match self {
            EventType::CallCompleted
            | EventType::CallMissed
            | EventType::CallVoicemail
            | EventType::CallScored => Subject::Call,
            EventType::SmsReceived | EventType::SmsStatus => Subject::Message,
            EventType::FormSubmitted => Subject::Form,
            EventType::WebhookTest => Subject::Nothing,
        }
    }

    /// A subscription as a business names it (the test event is not one).
    pub fn subscribable(name: &str) -> Option<EventType> {
        name.parse().ok().filter(|t| EventType::SUBSCRIBABLE.contains(t))
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Retries after a failed attempt: 1, 5 and 15 minutes, then 1 and 6 hours; then the
/// delivery has failed. `scale` shrinks the schedule (tests).
pub fn retry_delay(failed_attempts: u32, scale: f64) -> Option<Duration> {
    const SCHEDULE: [u64; 5] = [60, 300, 900, 3600, 21_600];
    let seconds = *SCHEDULE.get(usize::try_from(failed_attempts).ok()?.checked_sub(1)?)?;
    Some(Duration::from_secs_f64(seconds as f64 * scale))
}

/// Attempts a delivery gets in all.
pub const MAX_ATTEMPTS: u32 = 6;

/// An endpoint failing this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The `Ringtrack-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`, one
/// `v1` per secret in use (two during a rotation).
pub fn signature_header(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(secret, timestamp, body));
    }
    header
}

pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Custom headers an endpoint may have.
pub const MAX_HEADERS: usize = 20;
const MAX_HEADER_NAME: usize = 100;
const MAX_HEADER_VALUE: usize = 1000;

/// Headers a delivery sets itself (every `Ringtrack-` one), or that frame the request.
fn is_reserved(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("ringtrack-")
        || name.starts_with("proxy-")
        || [
            "content-type",
            "content-length",
            "content-encoding",
            "host",
            "user-agent",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "te",
            "trailer",
            "upgrade",
            "expect",
        ]
        .contains(&name.as_str())
}

/// A header name as HTTP allows it (a token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HEADER_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The custom headers a business asked for, checked: at most [`MAX_HEADERS`], names that
/// are tokens and not ours (nor repeated in another case), values of printable ASCII that
/// every delivery can carry. Errors are named `headers.<name>`.
pub fn check_headers(headers: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if headers.len() > MAX_HEADERS {
        errors.push("headers", format!("may hold at most {MAX_HEADERS} headers"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = BTreeMap::new();
    for (name, value) in headers {
        let field = format!("headers.{}", name.chars().take(MAX_HEADER_NAME).collect::<String>());
        let value = value.trim().to_owned();
        if !is_token(&name) || is_reserved(&name) || !seen.insert(name.to_ascii_lowercase()) {
            errors.push(field, "is not a header a delivery may carry");
        } else if value.len() > MAX_HEADER_VALUE || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            errors.push(field, "must be at most 1000 printable ASCII characters");
        } else {
            checked.insert(name, value);
        }
    }
    errors.finish(checked)
}

/// An endpoint's custom headers as kept: sealed together (they are often credentials),
/// or, for an endpoint saved before headers were sealed, as they were sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredHeaders {
    Sealed(String),
    Plain(BTreeMap<String, String>),
}

impl StoredHeaders {
    pub fn seal(headers: &BTreeMap<String, String>, sealer: &Sealer) -> StoredHeaders {
        let json = serde_json::to_string(headers).expect("a map of strings is JSON");
        StoredHeaders::Sealed(sealer.seal(&json))
    }

    pub fn open(&self, sealer: &Sealer) -> Result<BTreeMap<String, String>, SealError> {
        match self {
            StoredHeaders::Plain(headers) => Ok(headers.clone()),
            StoredHeaders::Sealed(sealed) => {
                serde_json::from_str(&sealer.open(sealed)?).map_err(|_| SealError::CannotOpen)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let minutes: Vec<Option<u64>> =
            (1..=6).map(|n| retry_delay(n, 1.0).map(|d| d.as_secs() / 60)).collect();
        assert_eq!(minutes, [Some(1), Some(5), Some(15), Some(60), Some(360), None]);
        assert_eq!(retry_delay(1, 0.001), Some(Duration::from_millis(60)));
        assert_eq!(retry_delay(0, 1.0), None);
    }

    #[test]
    fn signatures_are_hmac_sha256_of_time_dot_body() {
        // Computed independently with Python's hmac module.
        assert_eq!(
            sign("secret", 1_700_000_000, b"{}"),
            "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
        let header = signature_header(&["new", "old"], 1_700_000_000, b"{\"a\":1}");
        let parts: Vec<&str> = header.split(',').collect();
        assert_eq!(parts[0], "t=1700000000");
        assert_eq!(parts[1], format!("v1={}", sign("new", 1_700_000_000, b"{\"a\":1}")));
        assert_eq!(parts[2], format!("v1={}", sign("old", 1_700_000_000, b"{\"a\":1}")));
        assert_ne!(parts[1], parts[2]);
        assert_eq!(sign("new", 1, b"x").len(), 64);
    }

    #[test]
    fn custom_headers_are_tokens_not_ours_with_printable_values() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let ok = check_headers(map(&[("X-CRM-Token", " t0k "), ("Authorization", "Bearer abc")])).unwrap();
        assert_eq!(ok["X-CRM-Token"], "t0k");
        let refused = |pairs: &[(&str, &str)]| {
            check_headers(map(pairs)).unwrap_err().into_vec().into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        assert_eq!(refused(&[("Ringtrack-Event-Id", "x")]), ["headers.Ringtrack-Event-Id"]);
        assert_eq!(refused(&[("ringtrack-event-type", "x")]), ["headers.ringtrack-event-type"]);
        assert_eq!(refused(&[("Host", "x"), ("Bad Header", "x")]), ["headers.Bad Header", "headers.Host"]);
        assert_eq!(refused(&[("X-A", "\u{7f}")]), ["headers.X-A"]);
        assert_eq!(refused(&[("X-A", "caf\u{e9}")]), ["headers.X-A"]);
        assert_eq!(refused(&[("X-A", "a\nb")]), ["headers.X-A"]);
        assert_eq!(refused(&[("X-A", "1"), ("x-a", "2")]), ["headers.x-a"]);
        assert_eq!(refused(&[("X-A", &"v".repeat(1001))]), ["headers.X-A"]);
    }

    #[test]
    fn headers_are_sealed_and_old_plain_ones_still_read() {
        let sealer = Sealer::new(&[7; 32]);
        let headers: BTreeMap<String, String> = [("X-CRM-Token".to_owned(), "t0k".to_owned())].into();
        let sealed = StoredHeaders::seal(&headers, &sealer);
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("t0k") && !json.contains("X-CRM-Token"), "{json}");
        let read: StoredHeaders = serde_json::from_str(&json).unwrap();
        assert_eq!(read.open(&sealer).unwrap(), headers);
        let plain: StoredHeaders = serde_json::from_str(r#"{"X-CRM-Token":"t0k"}"#).unwrap();
        assert_eq!(plain.open(&sealer).unwrap(), headers);
        assert!(read.open(&Sealer::new(&[8; 32])).is_err());
    }
}
