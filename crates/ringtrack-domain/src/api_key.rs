//! API key secrets: `cs_key_` followed by 32 base62 characters (about 190 bits from a
//! CSPRNG). Only the SHA-256 of a secret is ever stored; the secret is shown once.

use rand::{CryptoRng, Rng};
use sha2::{Digest, Sha256};
use std::fmt;

const PREFIX: &str = "cs_key_";
const SECRET_LEN: usize = 32;
/// How many leading characters of a key are kept and shown to identify it.
pub const DISPLAY_PREFIX_LEN: usize = 15;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A full key. Its `Debug` hides the secret so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

/// The SHA-256 of a secret (an API key, a session or link token), hex-encoded: what the
/// database keeps and looks the secret up by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

#[derive(Debug, PartialEq, Eq)]
pub struct MalformedKey;

impl ApiKeySecret {
    pub fn generate<R: Rng + CryptoRng>(rng: &mut R) -> Self {
        let mut key = String::with_capacity(PREFIX.len() + SECRET_LEN);
        key.push_str(PREFIX);
        for _ in 0..SECRET_LEN {
            key.push(BASE62[rng.random_range(0..BASE62.len())] as char);
        }
        Self(key)
    }

    /// Accepts exactly the shape `generate` makes; anything else is malformed.
    pub fn parse(raw: &str) -> Result<Self, MalformedKey> {
        let secret = raw.strip_prefix(PREFIX).ok_or(MalformedKey)?;
        if secret.len() == SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(MalformedKey)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The part that may be shown and stored in clear: `cs_key_` and 8 characters.
    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.display_prefix())
    }
}

impl SecretHash {
    /// The hex form of a SHA-256 digest.
    pub(crate) fn of(digest: &[u8]) -> SecretHash {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(2 * digest.len());
        for &byte in digest {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        SecretHash(hex)
    }

    /// Wraps a hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = ApiKeySecret::generate(&mut rand::rng());
        assert_eq!(key.expose().len(), 39);
        assert!(key.expose().starts_with("cs_key_"));
        assert_eq!(ApiKeySecret::parse(key.expose()), Ok(key.clone()));
        assert_eq!(key.display_prefix().len(), 15);
        assert!(key.expose().starts_with(key.display_prefix()));
    }

    #[test]
    fn generated_keys_differ() {
        let mut rng = rand::rng();
        let a = ApiKeySecret::generate(&mut rng);
        let b = ApiKeySecret::generate(&mut rng);
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "cs_key_",
            "cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p", // 31 characters
            "cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q", // 33 characters
            "cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-",
            "sk_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
            "cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4oé",
        ] {
            assert_eq!(ApiKeySecret::parse(bad), Err(MalformedKey), "{bad:?}");
        }
        assert!(ApiKeySecret::parse("cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6").is_ok());
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        let key = ApiKeySecret::parse("cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6").unwrap();
        // printf %s cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6 | sha256sum
        assert_eq!(key.hash().as_str(), "a000a2b8ef1aa82376ec66d7c903506554e50901d165d86486d6747962320151");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = ApiKeySecret::parse("cs_key_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6").unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("cs_key_a1b2c3d4"));
        assert!(!shown.contains("e5f6g7h8"));
    }
}
