use std::fmt;

use sha2::{Digest, Sha256};

/// An account at an external OpenID Connect issuer (a Cognito user pool, Entra ID):
/// the pair (`iss`, `sub`). OIDC promises only that pair to be stable and unique,
/// so it is the key; an email address from the same token never is.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FederatedIdentity {
    issuer: String,
    subject: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why an identity was refused.
pub enum IdentityError {
    #[error("the issuer and subject must not be empty")]
    /// A claim with nothing in it.
    Empty,
    #[error("the issuer or subject is too long")]
    /// Over the limits below.
    TooLong,
    #[error("the issuer and subject must not contain control characters")]
    /// Control characters, which no issuer sends and which could forge a key.
    BadCharacter,
}

impl FederatedIdentity {
    /// OIDC Core 1.0 §2 caps `sub` at 255 ASCII characters.
    pub const MAX_SUBJECT_LEN: usize = 255;
    /// Issuer URLs are short; a long one is not one an operator configured.
    pub const MAX_ISSUER_LEN: usize = 1024;

    /// The identity `subject` has at `issuer`, exactly as the token spells them.
    pub fn new(issuer: &str, subject: &str) -> Result<Self, IdentityError> {
        if issuer.is_empty() || subject.is_empty() {
            return Err(IdentityError::Empty);
        }
        if issuer.len() > Self::MAX_ISSUER_LEN || subject.len() > Self::MAX_SUBJECT_LEN {
            return Err(IdentityError::TooLong);
        }
        if issuer.chars().chain(subject.chars()).any(char::is_control) {
            return Err(IdentityError::BadCharacter);
        }
        Ok(Self {
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
        })
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `sub` claim.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// A fixed-length key for stores whose keys are limited in length or alphabet
    /// (DynamoDB, Azure Table): SHA-256 of issuer, a newline, subject, in hex.
    /// Neither part can contain a newline, so two identities never share a key.
    pub fn key(&self) -> String {
        let digest = Sha256::new()
            .chain_update(self.issuer.as_bytes())
            .chain_update(b"\n")
            .chain_update(self.subject.as_bytes())
            .finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The subject is an identifier at another provider, not a secret, but it is
/// personal data: the issuer is enough in logs.
impl fmt::Debug for FederatedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FederatedIdentity")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_the_pair_and_refuse_empty_or_control_characters() {
        let a = FederatedIdentity::new("https://issuer.example", "abc").unwrap();
        let b = FederatedIdentity::new("https://other.example", "abc").unwrap();
        assert_ne!(a, b);
        assert_ne!(a.key(), b.key());
        assert_eq!(a.key().len(), 64);
        assert_eq!(FederatedIdentity::new("", "abc"), Err(IdentityError::Empty));
        assert_eq!(
            FederatedIdentity::new("https://issuer.example", "a\nb"),
            Err(IdentityError::BadCharacter)
        );
        assert_eq!(
            FederatedIdentity::new("https://issuer.example", &"x".repeat(256)),
            Err(IdentityError::TooLong)
        );
        assert!(!format!("{a:?}").contains("abc"));
    }
}
