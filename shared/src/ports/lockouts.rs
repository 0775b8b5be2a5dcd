use async_trait::async_trait;

use super::StoreError;
use crate::domain::{LockoutPolicy, LockoutState, Timestamp};

/// Failed-login counters, keyed by the normalised login name (known or not, so
/// lockout itself does not reveal which accounts exist).
#[async_trait]
pub trait LockoutStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<LockoutState>, StoreError>;
    /// Atomically applies [`LockoutState::after_failure`] and returns the new state.
    async fn record_failure(
        &self,
        key: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState, StoreError>;
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
