use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// An opaque refresh token as the client holds it: 256 bits from the OS RNG,
/// base64url. The server keeps only its [`RefreshTokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

/// SHA-256 of a refresh token, hex. A fast hash is right here: the token has
/// 256 bits of entropy, so there is nothing to brute-force.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshToken {
    const BYTES: usize = 32;
    const ENCODED_LEN: usize = 43;

    /// A new random token (256 bits).
    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only what [`RefreshToken::generate`] could have produced; anything
    /// else is unknown by construction and never reaches a store.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == Self::ENCODED_LEN && URL_SAFE_NO_PAD.decode(raw).is_ok())
            .then(|| Self(raw.to_owned()))
    }

    /// The token, for the response only: stores keep its hash.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the stores keep and look it up by.
    pub fn hash(&self) -> RefreshTokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        RefreshTokenHash(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

impl RefreshTokenHash {
    /// Rebuilds a hash read back from a store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hash as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_differ() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a, b);
        assert_eq!(RefreshToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash().as_str().len(), 64);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn rejects_foreign_shapes() {
        assert!(RefreshToken::parse("").is_none());
        assert!(RefreshToken::parse("short").is_none());
        assert!(RefreshToken::parse(&"!".repeat(43)).is_none());
    }
}
