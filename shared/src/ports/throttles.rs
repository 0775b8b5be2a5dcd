use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{
    Admission, LoginThrottlePolicy, Settlement, ThrottleKey, ThrottleState, Timestamp,
};

/// A change to one counter: the state to store, given the stored one (`None`
/// leaves it as it is). Owned, so a store may run it on another thread.
pub type ThrottleChange = Arc<dyn Fn(Option<ThrottleState>) -> Option<ThrottleState> + Send + Sync>;

/// The login throttles' counters (see `domain::throttle`). Keys are digests, so
/// counters for unknown accounts look like any others and reveal nothing. A store
/// only has to apply a change atomically; what the change is, and what it means,
/// is the domain's ([`admit`], [`settle`]).
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Applies `change` to the stored counter atomically, and returns the state it
    /// was applied to: no two concurrent changes may be applied to the same state.
    /// `now` is the change's time, for forgetting counters past their use.
    async fn change(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError>;
}

/// [`ThrottleState::admit`] applied to the stored counter. The admission is a pure
/// function of the state the change was applied to, so it is computed again from it.
pub async fn admit(
    store: &(impl ThrottleStore + ?Sized),
    key: &ThrottleKey,
    now: Timestamp,
    policy: &LoginThrottlePolicy,
) -> Result<Admission, StoreError> {
    let (scope, limits) = (key.scope(), *policy);
    let change: ThrottleChange =
        Arc::new(move |stored| ThrottleState::admit(stored, now, scope, &limits).0);
    let seen = store.change(key, now, policy, change).await?;
    Ok(ThrottleState::admit(seen, now, scope, policy).1)
}

/// [`ThrottleState::settle`] applied to the stored counter.
pub async fn settle(
    store: &(impl ThrottleStore + ?Sized),
    key: &ThrottleKey,
    settlement: Settlement,
    now: Timestamp,
    policy: &LoginThrottlePolicy,
) -> Result<(), StoreError> {
    let (scope, limits) = (key.scope(), *policy);
    let change: ThrottleChange = Arc::new(move |stored| {
        Some(ThrottleState::settle(
            stored, now, scope, settlement, &limits,
        ))
    });
    store.change(key, now, policy, change).await.map(drop)
}
