use std::fmt;

/// A candidate password that meets the length rule (12..=256 characters).
///
/// It never prints: Debug is redacted so a stray `?password` in a log line
/// cannot leak it.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why a password was refused.
pub enum PasswordError {
    #[error("password must be at least 12 characters")]
    /// Under [`Password::MIN_CHARS`].
    TooShort,
    #[error("password must be at most 256 characters")]
    /// Over [`Password::MAX_CHARS`]: a bound on the hashing work one request can ask for.
    TooLong,
}

impl Password {
    /// The fewest characters accepted.
    pub const MIN_CHARS: usize = 12;
    /// The most characters accepted.
    pub const MAX_CHARS: usize = 256;

    /// Checks the length in characters.
    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if chars > Self::MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Self(raw))
        }
    }

    /// The password, for the hasher only: never log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        // 12 characters, 36 bytes.
        assert!(Password::parse("ééééééééééé€".to_owned()).is_ok());
        assert_eq!(
            Password::parse("ééééééééééé".to_owned()).err(),
            Some(PasswordError::TooShort)
        );
    }

    #[test]
    fn enforces_both_bounds() {
        assert!(Password::parse("a".repeat(12)).is_ok());
        assert!(Password::parse("a".repeat(256)).is_ok());
        assert_eq!(
            Password::parse("a".repeat(11)).err(),
            Some(PasswordError::TooShort)
        );
        assert_eq!(
            Password::parse("a".repeat(257)).err(),
            Some(PasswordError::TooLong)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let password = Password::parse("correct horse battery".to_owned()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
