//! Outbound webhooks: the events a business can subscribe to, how a delivery is signed,
//! when a failed one is tried again, and which endpoint URLs are acceptable. Pure rules;
//! the sending is the binary's worker.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const EVENTS: [&str; 7] = [
    "call.completed",
    "call.missed",
    "call.voicemail",
    "call.scored",
    "sms.received",
    "sms.status",
    "form.submitted",
];

/// The sample `POST /webhooks/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

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

/// Why an endpoint URL is refused, if it is.
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<(), &'static str> {
    let (scheme, rest) = url.split_once("://").ok_or("must be an https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    if host.is_empty() || url.len() > 2000 || url.chars().any(char::is_whitespace) {
        return Err("must be an https:// URL with a host");
    }
    match scheme {
        "https" => Ok(()),
        "http" if allow_http_loopback && is_loopback(host) => Ok(()),
        "http" if allow_http_loopback => Err("may use http:// only for a loopback address"),
        _ => Err("must be an https:// URL"),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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
    fn endpoint_urls_are_https_or_local_http_when_allowed() {
        assert!(check_url("https://hooks.example.com/ringtrack", false).is_ok());
        assert!(check_url("http://hooks.example.com/x", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/x", false).is_err(), "http needs the setting");
        assert!(check_url("http://127.0.0.1:9000/x", true).is_ok());
        assert!(check_url("http://localhost/x", true).is_ok());
        assert!(check_url("http://[::1]:8080/x", true).is_ok());
        assert!(check_url("http://10.0.0.5/x", true).is_err());
        assert!(check_url("http://127.0.0.1.evil.com/x", true).is_err());
        assert!(check_url("ftp://example.com", true).is_err());
        assert!(check_url("https://", false).is_err());
        assert!(check_url("https://a b.com", false).is_err());
    }
}
