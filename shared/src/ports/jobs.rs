use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Job, JobId, UserId};

#[async_trait]
/// Jobs, per user.
pub trait JobStore: Send + Sync {
    /// Stores a new job.
    async fn create(&self, job: &Job) -> Result<(), StoreError>;
    /// The job if it belongs to `user`: another user's job is simply not found.
    async fn get(&self, user: UserId, id: JobId) -> Result<Option<Job>, StoreError>;
    /// Newest first; with `before`, only jobs created before that one.
    async fn list(
        &self,
        user: UserId,
        limit: usize,
        before: Option<JobId>,
    ) -> Result<Vec<Job>, StoreError>;
    /// Writes `next` only if the stored status and attempts still equal `current`'s:
    /// of two workers holding the same job, exactly one transition wins. Returns
    /// whether this one did.
    async fn transition(&self, current: &Job, next: &Job) -> Result<bool, StoreError>;
    /// Erases every job of `user`. Idempotent.
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
