use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Deletion, DeletionId, DeletionStatus, Timestamp, UserId};

#[derive(Debug, thiserror::Error)]
/// Why a deletion request was not stored.
pub enum CreateDeletionError {
    /// Another request of the same user still awaits its confirmation.
    #[error("another deletion request is awaiting confirmation")]
    AlreadyPending,
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

#[async_trait]
/// Account-deletion requests, per user.
pub trait DeletionStore: Send + Sync {
    /// Stores a new request unless one of the same user is still pending at `now`
    /// (awaiting confirmation and not past its window): decided atomically, so two
    /// concurrent requests never both succeed.
    async fn create(&self, deletion: &Deletion, now: Timestamp) -> Result<(), CreateDeletionError>;
    /// The deletion if it belongs to `user`.
    async fn get(&self, user: UserId, id: DeletionId) -> Result<Option<Deletion>, StoreError>;
    /// Moves the status to `to` only if it is one of `from`; returns whether it did.
    async fn transition(
        &self,
        user: UserId,
        id: DeletionId,
        from: &[DeletionStatus],
        to: DeletionStatus,
    ) -> Result<bool, StoreError>;
    /// Counts one wrong code against a request awaiting confirmation, atomically;
    /// the `max`th ends it `expired`. Anything else is left as it is.
    async fn record_wrong_code(
        &self,
        user: UserId,
        id: DeletionId,
        max: u32,
    ) -> Result<(), StoreError>;
    /// Records the workflow's confirmation task token (AWS Step Functions).
    async fn set_task_token(
        &self,
        user: UserId,
        id: DeletionId,
        token: &str,
    ) -> Result<(), StoreError>;
}
