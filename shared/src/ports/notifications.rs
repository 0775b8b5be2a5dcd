use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Notification, UserId};

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Idempotent: adding a notification whose id exists changes nothing, so a
    /// redelivered event never shows twice.
    async fn add(&self, notification: &Notification) -> Result<(), StoreError>;
    /// Newest first.
    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Notification>, StoreError>;
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
