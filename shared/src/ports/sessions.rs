use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Session, SessionData, SessionId, Timestamp, UserId, Version};

/// Session data as a store kept it (JSON text), checked as on the way in: a record
/// that no longer parses or no longer fits is a store failure, never silently `{}`.
#[cfg(any(feature = "dynamodb", feature = "redis"))]
pub(crate) fn stored_session_data(text: &str) -> Result<SessionData, StoreError> {
    let value =
        serde_json::from_str(text).map_err(|e| StoreError::new("decode session data", e))?;
    SessionData::parse(value).map_err(|e| StoreError::new("decode session data", e))
}

/// The result of a conditional write.
#[derive(Debug)]
pub enum SessionWrite {
    /// Written; the session as it now is.
    Written(Session),
    /// The stored version is not the expected one (or the session is revoked or gone).
    Conflict,
}

#[derive(Debug, thiserror::Error)]
/// Why a session was not created.
pub enum CreateSessionError {
    /// The user does not exist or is being deleted: logins must not resurrect it.
    #[error("the account is gone or being deleted")]
    UserUnavailable,
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

#[async_trait]
/// Sessions: versioned, revocable, listed per user for the deletion workflow.
pub trait SessionStore: Send + Sync {
    /// Creates the session only for a user that exists and is not being deleted.
    /// A store may check in the same atomic write (SQLite) or right after it
    /// (DynamoDB), as long as a session it reports as refused is never active.
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError>;
    /// Returns the record even if expired or revoked; callers apply the policy.
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Atomically replaces the data if the stored version equals `expected` and the
    /// session is not revoked: version + 1, `last_extended_at = now`.
    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError>;
    /// Slides the idle window (on refresh) without touching data or version.
    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError>;
    /// Revocation is permanent and idempotent.
    async fn revoke(&self, id: SessionId) -> Result<(), StoreError>;
    /// Every session of the user, revoked or not. Strongly consistent: the
    /// deletion workflow relies on seeing every session created before it.
    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError>;
    /// Erases every session of `user`. Idempotent.
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
