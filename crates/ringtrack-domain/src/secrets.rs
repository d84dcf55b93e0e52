//! Secrets kept at rest (webhook signing secrets): sealed with ChaCha20-Poly1305 under the
//! server's key, so a copy of the database alone does not give them away. A sealed value
//! is `v1:` then base64 of a random 96-bit nonce and the ciphertext with its tag.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// Seals and opens secrets with one 256-bit key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// Keys [`Sealer::fingerprint`]: derived from the sealing key, never the same bytes.
    fingerprint_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("the sealed value is not one this key opens (another key, or damaged)")]
    CannotOpen,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        use sha2::Digest;
        let fingerprint_key =
            sha2::Sha256::new_with_prefix(b"ringtrack fingerprint\0").chain_update(key).finalize();
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            fingerprint_key: fingerprint_key.into(),
        }
    }

    /// A value that must be compared but not kept (a visitor's address): the same for the
    /// same value under this key, and no way back to it without the key.
    pub fn fingerprint(&self, value: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.fingerprint_key)
            .expect("HMAC takes any key");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// A key as configured: 32 bytes in base64 (padded or not).
    pub fn from_base64(encoded: &str) -> Result<Sealer, SealError> {
        let trimmed = encoded.trim().trim_end_matches('=');
        let bytes = STANDARD_NO_PAD.decode(trimmed).map_err(|_| SealError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Sealer::new(&key))
    }

    /// A new random key, base64-encoded (what `from_base64` reads).
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD_NO_PAD.encode(key)
    }

    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed =
            self.cipher.encrypt(Nonce::from_slice(&nonce), secret.as_bytes()).expect("sealing cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(SealError::CannotOpen)?;
        let bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| SealError::CannotOpen)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::CannotOpen);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain =
            self.cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SealError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| SealError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_per_key_and_hide_the_value() {
        let sealer = Sealer::new(&[1; 32]);
        let a = sealer.fingerprint("203.0.113.7");
        assert_eq!(a, sealer.fingerprint("203.0.113.7"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("203"));
        assert_ne!(a, sealer.fingerprint("203.0.113.8"));
        assert_ne!(a, Sealer::new(&[2; 32]).fingerprint("203.0.113.7"));
    }

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let sealer = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let sealed = sealer.seal("whsec_abc");
        assert!(sealed.starts_with("v1:") && !sealed.contains("whsec_abc"));
        assert_ne!(sealer.seal("whsec_abc"), sealed, "a fresh nonce every time");
        assert_eq!(sealer.open(&sealed).unwrap(), "whsec_abc");
        let other = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        assert_eq!(other.open(&sealed), Err(SealError::CannotOpen));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(sealer.open(&tampered), Err(SealError::CannotOpen));
        assert_eq!(sealer.open("whsec_plain"), Err(SealError::CannotOpen));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert_eq!(Sealer::from_base64("c2hvcnQ=").unwrap_err(), SealError::BadKey);
        assert_eq!(Sealer::from_base64("not base64!").unwrap_err(), SealError::BadKey);
        assert!(Sealer::from_base64(&format!("{}=", Sealer::generate_key())).is_ok());
    }
}
