use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Notification, UserId};

#[async_trait]
/// Notifications, per user, newest first.
pub trait NotificationStore: Send + Sync {
    /// Idempotent: adding a notification whose id exists changes nothing, so a
    /// redelivered event never shows twice.
    async fn add(&self, notification: &Notification) -> Result<(), StoreError>;
    /// Newest first.
    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Notification>, StoreError>;
    /// Erases every notification of `user`. Idempotent.
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError>;
}
