//! The one error type of the core. `api::problem` maps it to RFC 9457 problem
//! details in one place; nothing else decides status codes.

use std::time::Duration;

use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed JSON, a missing field, a wrong type or a value the domain rejects.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("too many failed login attempts; try again later")]
    TooManyAttempts { retry_after: Duration },
    #[error("this email is already registered")]
    EmailTaken,
    /// Missing, malformed, expired, forged or revoked access token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("the refresh token is unknown, expired or already used")]
    InvalidRefreshToken,
    #[error("the resource has changed; fetch it again and retry with its current ETag")]
    PreconditionFailed,
    #[error("no resource at this path")]
    NotFound,
    /// The caller is known but may not do this (a wrong confirmation code).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The resource is in a state that does not allow this.
    #[error("{0}")]
    Conflict(&'static str),
    /// Well-formed but refused: an Idempotency-Key reused with another body.
    #[error("{0}")]
    Unprocessable(&'static str),
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// Too many concurrent writers on one record; the caller may retry at once.
    #[error("the resource is being changed by other requests; retry")]
    Contention,
    /// More work than this process takes on at once (password hashing); the
    /// caller may retry after `retry_after`.
    #[error("the service is busy; retry shortly")]
    Overloaded { retry_after: Duration },
    #[error("a backend is unavailable")]
    Unavailable(#[from] StoreError),
    /// A bug or a broken invariant; the message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    pub fn invalid(message: impl ToString) -> Self {
        Self::InvalidRequest(message.to_string())
    }
}
