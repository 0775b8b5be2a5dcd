use async_trait::async_trait;

use super::StoreError;
use crate::domain::{RefreshTokenHash, SessionId, Timestamp, UserId};

#[derive(Clone, Debug, PartialEq)]
pub struct RefreshTokenRecord {
    pub hash: RefreshTokenHash,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub issued_at: Timestamp,
    /// Set once the token has been exchanged; presenting it again is reuse.
    pub spent_at: Option<Timestamp>,
}

#[derive(Debug, PartialEq)]
pub enum RotateOutcome {
    Rotated,
    /// Someone spent the old token first: treat as reuse.
    AlreadySpent,
}

#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError>;
    async fn find(&self, hash: &RefreshTokenHash)
    -> Result<Option<RefreshTokenRecord>, StoreError>;
    /// In one atomic step: mark `old` spent if it is not spent yet, and insert `new`.
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError>;
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
