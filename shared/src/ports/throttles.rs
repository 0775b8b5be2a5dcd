use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Admission, LoginThrottlePolicy, Settlement, ThrottleKey, Timestamp};

/// The login throttles' counters (see `domain::throttle`). Keys are digests, so
/// counters for unknown accounts look like any others and reveal nothing.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Atomically applies [`ThrottleState::admit`](crate::domain::ThrottleState::admit)
    /// to the stored counter: no two concurrent attempts may take the same slot.
    async fn admit(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<Admission, StoreError>;
    /// Atomically applies [`ThrottleState::settle`](crate::domain::ThrottleState::settle).
    async fn settle(
        &self,
        key: &ThrottleKey,
        settlement: Settlement,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<(), StoreError>;
}
