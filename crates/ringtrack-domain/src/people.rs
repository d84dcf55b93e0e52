//! People who sign in to the web app: their email addresses and passwords as accepted at
//! the edge, the random tokens behind sessions and single-use links, and time-based
//! one-time codes (RFC 6238, as every authenticator app computes them).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api_key::SecretHash;
use crate::validation::FieldError;

/// An email address, trimmed and lower-cased: one person, one address, however typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a path.
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Email, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = || FieldError::new(field, "must be an email address, like maria@acme.com");
        if email.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(field, format!("must be at most {} characters", Self::MAX_LEN)));
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && !local.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';'));
        if !well_formed {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    /// Wraps an address read back from storage (stored only after [`Email::parse`]).
    pub fn from_stored(email: String) -> Email {
        Email(email)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as chosen: long enough to resist guessing, short enough to hash cheaply.
/// Its `Debug` hides it, so it cannot reach a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(field: &str, raw: &str) -> Result<Password, FieldError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(field, format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(field, format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A random token (256 bits, URL-safe base64): a session cookie or a single-use link.
/// Only its hash is stored; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    const BYTES: usize = 32;

    pub fn generate() -> Token {
        let mut bytes = [0u8; Self::BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as a client sent it; `None` unless it has the shape of one of ours.
    pub fn parse(raw: &str) -> Option<Token> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).ok()?;
        (decoded.len() == Self::BYTES).then(|| Token(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Time-based one-time codes: six digits from HMAC-SHA1 over 30-second steps, the
/// defaults every authenticator app assumes.
pub mod totp {
    use super::*;

    const STEP_SECONDS: i64 = 30;
    const DIGITS: u32 = 6;
    /// A code of the step before or after is accepted too (clocks drift, people type slowly).
    const SKEW_STEPS: i64 = 1;
    const SECRET_BYTES: usize = 20;
    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// A fresh secret, as raw bytes.
    pub fn generate_secret() -> Vec<u8> {
        let mut secret = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret);
        secret
    }

    /// The code for the step holding `unix_seconds`.
    pub fn code_at(secret: &[u8], unix_seconds: i64) -> u32 {
        code_of_step(secret, unix_seconds.div_euclid(STEP_SECONDS))
    }

    fn code_of_step(secret: &[u8], step: i64) -> u32 {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let binary =
            u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]])
                & 0x7fff_ffff;
        binary % 10u32.pow(DIGITS)
    }

    /// The step a typed code matches at `unix_seconds`, if any: callers refuse a step
    /// already used, so a code works once.
    pub fn matching_step(secret: &[u8], typed: &str, unix_seconds: i64) -> Option<i64> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let typed: u32 = typed.parse().ok()?;
        let now = unix_seconds.div_euclid(STEP_SECONDS);
        (now - SKEW_STEPS..=now + SKEW_STEPS).find(|&step| code_of_step(secret, step) == typed)
    }

    /// How many recovery codes a person is given.
    pub const RECOVERY_CODES: usize = 10;

    /// Fresh recovery codes, as shown once: ten lower-case base32 characters in two groups.
    pub fn generate_recovery_codes() -> Vec<String> {
        (0..RECOVERY_CODES)
            .map(|_| {
                let mut bytes = [0u8; 6];
                rand::rng().fill_bytes(&mut bytes);
                let code = base32(&bytes)[..10].to_lowercase();
                format!("{}-{}", &code[..5], &code[5..])
            })
            .collect()
    }

    /// The hash a recovery code is kept as, however it is typed (case, spaces, dashes);
    /// `None` unless it has a recovery code's shape.
    pub fn recovery_code_hash(typed: &str) -> Option<SecretHash> {
        let code: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let shaped =
            code.len() == 10 && code.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        shaped.then(|| SecretHash::of(&Sha256::digest(code.as_bytes())))
    }

    /// RFC 4648 base32 without padding: how authenticator apps take a secret typed in.
    pub fn base32(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &byte in bytes {
            buffer = (buffer << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }

    /// The bytes of a base32 secret (as [`base32`] writes it); `None` if it is not one.
    pub fn from_base32(encoded: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(encoded.len() * 5 / 8);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for c in encoded.bytes() {
            let value = BASE32.iter().position(|&b| b == c)? as u32;
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    /// The `otpauth://` address an authenticator app reads from a QR code or a link.
    pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> String {
        let label: String =
            form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes()).collect();
        let issuer: String = form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
        format!(
            "otpauth://totp/{label}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
            base32(secret)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(Email::parse("email", "  Maria@Acme.COM ").unwrap().as_str(), "maria@acme.com");
        for bad in
            ["", "maria", "maria@", "@acme.com", "maria@acme", "ma ria@acme.com", "a@b@c.com", "maria@.com"]
        {
            assert!(Email::parse("email", bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@acme.com", "a".repeat(250));
        assert_eq!(Email::parse("email", &long).unwrap_err().field, "email");
    }

    #[test]
    fn passwords_are_bounded_and_hidden() {
        assert!(Password::parse("password", "short").is_err());
        assert!(Password::parse("password", &"x".repeat(257)).is_err());
        let password = Password::parse("password", "correct horse battery").unwrap();
        assert_eq!(format!("{password:?}"), "Password(..)");
    }

    #[test]
    fn tokens_parse_only_in_their_own_shape() {
        let token = Token::generate();
        assert_eq!(Token::parse(token.expose()), Some(token.clone()));
        assert_eq!(token.hash().as_str().len(), 64);
        assert_eq!(Token::parse("not-a-token"), None);
        assert_eq!(format!("{token:?}"), "Token(..)");
    }

    /// RFC 6238, appendix B (SHA-1, the 20-byte ASCII secret), last six digits.
    #[test]
    fn totp_matches_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in
            [(59, 287_082), (1_111_111_109, 81_804), (1_234_567_890, 5_924), (2_000_000_000, 279_037)]
        {
            assert_eq!(totp::code_at(secret, time), code, "at {time}");
        }
        assert_eq!(totp::matching_step(secret, "287 082", 59), Some(1));
        assert_eq!(totp::matching_step(secret, "287082", 59 + 30), Some(1), "one step late is accepted");
        assert_eq!(totp::matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(totp::matching_step(secret, "28708", 59), None);
    }

    #[test]
    fn recovery_codes_match_however_typed() {
        let codes = totp::generate_recovery_codes();
        assert_eq!(codes.len(), totp::RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        let hash = totp::recovery_code_hash(code).unwrap();
        assert_eq!(totp::recovery_code_hash(&code.to_uppercase().replace('-', " ")), Some(hash));
        assert_eq!(totp::recovery_code_hash("123456"), None);
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(totp::base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(totp::base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(totp::from_base32("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(totp::from_base32("not base32!"), None);
    }
}
