//! Bounds on what a carrier webhook may carry, checked (after its signature) before any of
//! it is read or kept: a replayed or forged-by-insider request cannot store a novel, a
//! `javascript:` link or a duration that overflows a sum. Twilio's own values sit far
//! inside every bound.

use ringtrack_domain::FieldError;

/// Parameters one webhook may carry.
const MAX_PARAMS: usize = 200;
const MAX_NAME_CHARS: usize = 64;
/// Any parameter not named below (Twilio adds new ones; some carry tokens).
const MAX_VALUE_CHARS: usize = 4096;
/// Twilio's own limit on a message's text.
pub const MAX_SMS_BODY_CHARS: usize = 1600;
const MAX_URL_CHARS: usize = 1000;
/// What a carrier says of a place or a person: city, state, zip, country, caller name.
const MAX_SHORT_TEXT_CHARS: usize = 64;
use ringtrack_domain::calls::MAX_CALL_SECONDS;
/// Attachments an incoming text may have (Twilio's limit).
pub const MAX_MEDIA: usize = 10;

/// The first parameter out of bounds, named.
pub fn check(params: &[(String, String)]) -> Result<(), FieldError> {
    if params.len() > MAX_PARAMS {
        return Err(FieldError::new("body", format!("may carry at most {MAX_PARAMS} parameters")));
    }
    for (name, value) in params {
        check_one(name, value)?;
    }
    Ok(())
}

fn check_one(name: &str, value: &str) -> Result<(), FieldError> {
    let refuse = |message: String| {
        Err(FieldError::new(name.chars().take(MAX_NAME_CHARS).collect::<String>(), message))
    };
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return refuse("is not a parameter name".into());
    }
    // Carriers send empty values for what they do not know; they are read as absent.
    if value.is_empty() {
        return Ok(());
    }
    let chars = value.chars().count();
    let within =
        |max: usize| if chars > max { refuse(format!("must be at most {max} characters")) } else { Ok(()) };
    match name {
        "Body" => within(MAX_SMS_BODY_CHARS),
        "CallDuration" | "DialCallDuration" | "RecordingDuration" | "Duration" => {
            match value.parse::<i64>() {
                Ok(seconds) if (0..=MAX_CALL_SECONDS).contains(&seconds) => Ok(()),
                _ => refuse(format!("must be a whole number of seconds from 0 to {MAX_CALL_SECONDS}")),
            }
        }
        "NumMedia" | "NumSegments" => match value.parse::<usize>() {
            Ok(n) if n <= MAX_MEDIA => Ok(()),
            _ => refuse(format!("must be a whole number from 0 to {MAX_MEDIA}")),
        },
        "RecordingUrl" => {
            within(MAX_URL_CHARS)?;
            // The sandbox names its recordings `sandbox:…`; a carrier's are https.
            if value.starts_with("https://") || value.starts_with("sandbox:") {
                Ok(())
            } else {
                refuse("must be an https:// URL".into())
            }
        }
        _ if name.starts_with("MediaUrl") => {
            within(MAX_URL_CHARS)?;
            if value.starts_with("https://") { Ok(()) } else { refuse("must be an https:// URL".into()) }
        }
        _ if is_party(name) => within(MAX_SHORT_TEXT_CHARS),
        _ => within(MAX_VALUE_CHARS),
    }
}

/// A party to the call or text, or where it is: `From`, `ToCity`, `CallerName`, ….
fn is_party(name: &str) -> bool {
    ["From", "To", "Caller", "Called", "ForwardedFrom"].iter().any(|party| {
        name.strip_prefix(party)
            .is_some_and(|rest| ["", "City", "State", "Zip", "Country", "Name"].contains(&rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn refused(pairs: &[(&str, &str)]) -> Option<String> {
        check(&params(pairs)).err().map(|e| e.field)
    }

    #[test]
    fn twilio_values_pass() {
        assert_eq!(
            refused(&[
                ("CallSid", "CA1234567890abcdef1234567890abcdef"),
                ("From", "+14158675309"),
                ("FromCity", "SAN FRANCISCO"),
                ("CallDuration", "145"),
                ("Body", &"x".repeat(1600)),
                ("NumMedia", "1"),
                ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"),
                ("RecordingUrl", "sandbox:RE1"),
                ("StirVerstat", "TN-Validation-Passed-A"),
                ("RecordingUrl", ""),
                ("CallDuration", ""),
            ]),
            None
        );
    }

    #[test]
    fn out_of_bounds_values_are_named() {
        assert_eq!(refused(&[("Body", &"x".repeat(1601))]).as_deref(), Some("Body"));
        assert_eq!(refused(&[("FromCity", &"x".repeat(100_000))]).as_deref(), Some("FromCity"));
        assert_eq!(refused(&[("CallDuration", "9223372036854775807")]).as_deref(), Some("CallDuration"));
        assert_eq!(refused(&[("CallDuration", "-1")]).as_deref(), Some("CallDuration"));
        assert_eq!(refused(&[("RecordingDuration", "86401")]).as_deref(), Some("RecordingDuration"));
        assert_eq!(refused(&[("MediaUrl0", "javascript:alert(1)")]).as_deref(), Some("MediaUrl0"));
        assert_eq!(refused(&[("MediaUrl3", "http://example.com/a.jpg")]).as_deref(), Some("MediaUrl3"));
        assert_eq!(refused(&[("RecordingUrl", "file:///etc/passwd")]).as_deref(), Some("RecordingUrl"));
        assert_eq!(refused(&[("NumMedia", "11")]).as_deref(), Some("NumMedia"));
        assert_eq!(refused(&[("Anything", &"x".repeat(4097))]).as_deref(), Some("Anything"));
        assert_eq!(refused(&[("a b", "x")]).as_deref(), Some("a b"));
        let many: Vec<(String, String)> = (0..201).map(|i| (format!("P{i}"), String::new())).collect();
        assert_eq!(check(&many).unwrap_err().field, "body");
    }
}
