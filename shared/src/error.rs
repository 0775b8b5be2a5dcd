//! The one error type of the core. `api::problem` maps it to RFC 9457 problem
//! details in one place; nothing else decides status codes.

use std::time::Duration;

use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
/// Everything a request, a job or a subscriber can fail with. Each variant is
/// one problem type (see `docs/contract.md`); the status code is decided in
/// `api::problem` alone.
pub enum Error {
    /// Malformed JSON, a missing field, a wrong type or a value the domain rejects.
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    /// A body that is not JSON (415).
    UnsupportedMediaType(String),
    #[error("{0}")]
    /// A body, session data, record or job input over its limit (413).
    PayloadTooLarge(String),
    #[error("the email or password is incorrect")]
    /// Unknown email or wrong password: one answer for both (401).
    InvalidCredentials,
    #[error("the ID token is invalid, expired or not from a trusted issuer")]
    /// A federated login's or re-authentication's ID token was refused (401, the
    /// same problem type as a wrong password).
    InvalidIdToken,
    #[error("too many failed login attempts; try again later")]
    /// A login throttle is locked (429 with `Retry-After`).
    TooManyAttempts {
        /// When the lock ends.
        retry_after: Duration,
    },
    #[error("this email is already registered")]
    /// Registration of an email that exists (409).
    EmailTaken,
    /// Missing, malformed, expired, forged or revoked access token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("the refresh token is unknown, expired or already used")]
    /// A refresh token that is unknown, spent or expired (401).
    InvalidRefreshToken,
    #[error("the resource has changed; fetch it again and retry with its current ETag")]
    /// `If-Match` names a version that is no longer current (412).
    PreconditionFailed,
    #[error("no resource at this path")]
    /// Nothing at this path, or nothing of the caller's (404).
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
    /// A path that exists, with another method (405).
    MethodNotAllowed,
    /// Too many concurrent writers on one record; the caller may retry at once.
    #[error("the resource is being changed by other requests; retry")]
    Contention,
    /// More work than this process takes on at once (password hashing); the
    /// caller may retry after `retry_after`.
    #[error("the service is busy; retry shortly")]
    Overloaded {
        /// When to try again.
        retry_after: Duration,
    },
    #[error("a backend is unavailable")]
    /// A store, queue or topic failed; logged with its cause, answered 503.
    Unavailable(#[from] StoreError),
    /// A bug or a broken invariant; the message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An internal error with a message for the logs only.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// A 400 with `message` shown to the client: never put secrets in it.
    pub fn invalid(message: impl ToString) -> Self {
        Self::InvalidRequest(message.to_string())
    }
}
