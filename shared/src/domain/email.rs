use std::fmt;

/// A normalised e-mail address: trimmed, lower-cased and shaped like an address.
///
/// Lower-casing the whole address (not only the domain) is deliberate: it is the
/// account key, and two spellings of one mailbox must never make two accounts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why an email was refused.
pub enum EmailError {
    #[error("email must not be empty")]
    /// Nothing but spaces.
    Empty,
    #[error("email must be at most 254 characters")]
    /// Over [`Email::MAX_LEN`].
    TooLong,
    #[error("email must contain exactly one '@' with text on both sides")]
    /// Not one `@` between a local part and a domain.
    BadAt,
    #[error("email domain must contain a dot between non-empty labels")]
    /// A domain without a dot, or with an empty label.
    BadDomain,
    #[error("email must not contain whitespace or control characters")]
    /// Spaces, control characters or quotes.
    BadCharacter,
}

impl Email {
    /// The longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Trims and lower-cases, then checks the shape.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::BadCharacter);
        }
        let mut parts = email.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::BadAt);
        };
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::BadAt);
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::BadDomain);
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Addresses are personal data: keep them out of logs that print Debug.
        f.write_str("Email(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        let email = Email::parse("  Alice.Smith@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        assert_eq!(Email::parse("alice"), Err(EmailError::BadAt));
        assert_eq!(Email::parse("a@b@example.com"), Err(EmailError::BadAt));
        assert_eq!(Email::parse("@example.com"), Err(EmailError::BadAt));
        assert_eq!(Email::parse("alice@"), Err(EmailError::BadAt));
        assert_eq!(Email::parse("alice@localhost"), Err(EmailError::BadDomain));
        assert_eq!(
            Email::parse("alice@example..com"),
            Err(EmailError::BadDomain)
        );
        assert_eq!(Email::parse("alice@.com"), Err(EmailError::BadDomain));
        assert_eq!(
            Email::parse("al ice@example.com"),
            Err(EmailError::BadCharacter)
        );
    }

    #[test]
    fn length_limit_is_254_after_trimming() {
        let domain = "@example.com";
        let at_limit = format!("{}{domain}", "a".repeat(254 - domain.len()));
        assert!(Email::parse(&format!("  {at_limit}  ")).is_ok());
        let over = format!("a{at_limit}");
        assert_eq!(Email::parse(&over), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_does_not_print_the_address() {
        let email = Email::parse("alice@example.com").unwrap();
        assert!(!format!("{email:?}").contains("alice"));
    }
}
