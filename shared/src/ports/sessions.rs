use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Session, SessionData, SessionId, Timestamp, Version};

/// The result of a conditional write.
#[derive(Debug)]
pub enum SessionWrite {
    Written(Session),
    /// The stored version is not the expected one (or the session is revoked or gone).
    Conflict,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create(&self, session: &Session) -> Result<(), StoreError>;
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
}
