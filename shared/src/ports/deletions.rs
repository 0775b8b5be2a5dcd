use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Deletion, DeletionId, DeletionStatus, UserId};

#[async_trait]
pub trait DeletionStore: Send + Sync {
    async fn create(&self, deletion: &Deletion) -> Result<(), StoreError>;
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
    /// Records the workflow's confirmation task token (AWS Step Functions).
    async fn set_task_token(
        &self,
        user: UserId,
        id: DeletionId,
        token: &str,
    ) -> Result<(), StoreError>;
}
