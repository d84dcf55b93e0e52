//! The one shape of a refused input: which field, and what is wrong with it. Every edge
//! (JSON bodies, query strings, the CLI) reports through it so a 422 always names the field.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Several field errors gathered in one pass, so a client fixes everything at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// The value of `result`, or `None` with its error gathered: for checking every field
    /// before answering.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// Like [`FieldErrors::take`], for a check that can refuse several fields.
    pub fn take_all<T>(&mut self, result: Result<T, FieldErrors>) -> Option<T> {
        result.map_err(|e| self.0.extend(e.0)).ok()
    }

    /// `Ok(value)` when nothing was pushed, otherwise every error gathered.
    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// A required, trimmed, non-empty name of at most `max` characters, on one line.
pub fn parse_name(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded(field, raw, max, |c| is_text_char(c) && !matches!(c, '\n' | '\r' | '\t'))
}

/// Whether `c` may stand in a text we speak (TwiML), send (SMS) or export (CSV): every
/// character but the controls (line breaks and tabs excepted) and the two that XML can
/// never carry.
pub fn is_text_char(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t') || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
}

/// A required, trimmed, non-empty text of at most `max` characters that may span lines.
pub fn parse_text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    bounded(field, raw, max, is_text_char)
}

fn bounded(field: &str, raw: &str, max: usize, allowed: fn(char) -> bool) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if !text.chars().all(allowed) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// An IANA time zone name (`America/Chicago`), as the business's reports and hours use.
pub fn parse_timezone(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 64 || jiff::tz::TimeZone::get(name).is_err() {
        return Err(FieldError::new(field, "must be a time zone such as America/Chicago"));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  CRM  ", 10).unwrap(), "CRM");
        assert_eq!(parse_name("name", "   ", 10).unwrap_err().field, "name");
        assert!(parse_name("name", "abcdefghijk", 10).is_err());
        assert!(parse_name("name", "a\u{0}b", 10).is_err());
        // Characters, not bytes, are counted.
        assert!(parse_name("name", "ééééé", 5).is_ok());
    }

    #[test]
    fn texts_span_lines_but_carry_no_control_characters() {
        assert_eq!(parse_text("body", " Hi,\nsee you\tsoon ", 20).unwrap(), "Hi,\nsee you\tsoon");
        for bad in ["a\u{0}b", "a\u{7}b", "a\u{1b}[31mb", "a\u{7f}b", "a\u{85}b", "a\u{ffff}b"] {
            assert_eq!(
                parse_text("body", bad, 20).unwrap_err().message,
                "must not contain control characters"
            );
        }
        assert!(parse_text("body", "  ", 20).is_err());
        assert!(parse_text("body", "abc", 2).is_err());
    }

    #[test]
    fn errors_gather_and_finish() {
        let mut errors = FieldErrors::new();
        assert_eq!(errors.clone().finish(1), Ok(1));
        errors.push("a", "bad");
        errors.push("b", "worse");
        let err = errors.finish(()).unwrap_err();
        assert_eq!(err.to_string(), "a: bad; b: worse");
        assert_eq!(err.into_vec().len(), 2);
    }
}
