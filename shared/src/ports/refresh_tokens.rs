use async_trait::async_trait;

use super::StoreError;
use crate::domain::{RefreshTokenHash, SessionId, Timestamp, UserId};

#[derive(Clone, Debug, PartialEq)]
/// A refresh token as stored: its hash, never the token.
pub struct RefreshTokenRecord {
    /// The token's hash.
    pub hash: RefreshTokenHash,
    /// The session it refreshes.
    pub session_id: SessionId,
    /// The session's owner.
    pub user_id: UserId,
    /// When it was issued (it expires with the session's rules).
    pub issued_at: Timestamp,
    /// Set once the token has been exchanged; presenting it again is reuse.
    pub spent_at: Option<Timestamp>,
}

#[derive(Debug, PartialEq)]
/// What a rotation did.
pub enum RotateOutcome {
    /// This token is spent and its successor stored.
    Rotated,
    /// Someone spent the old token first: treat as reuse.
    AlreadySpent,
}

#[async_trait]
/// Refresh tokens: each spent exactly once.
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new token.
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// The token with this hash, spent or not.
    async fn find(&self, hash: &RefreshTokenHash)
    -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// In one atomic step: mark `old` spent if it is not spent yet, and insert `new`.
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError>;
    /// Erases every token of `user`. Idempotent.
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
