use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Admission, LockoutPolicy, Timestamp};

/// Failed-login counters, keyed by the normalised login name (known or not, so
/// lockout itself does not reveal which accounts exist).
#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// Atomically applies [`LockoutState::admit`](crate::domain::LockoutState::admit)
    /// to the stored state and stores the result: no two concurrent attempts may
    /// read the same count.
    async fn admit(
        &self,
        key: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<Admission, StoreError>;
    /// Forgets the counter after a successful login.
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
}
