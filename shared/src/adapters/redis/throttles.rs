use std::sync::LazyLock;

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::{RedisStore, failed};
use crate::domain::{LoginThrottlePolicy, ThrottleKey, ThrottleState, Timestamp};
use crate::ports::{StoreError, ThrottleChange, ThrottleStore};

static SWAP: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/swap_counter.lua")));

/// Tries per admission or settlement: a client's counter is written by every
/// login from its address, so it sees more concurrent writers than any session.
const THROTTLE_ATTEMPTS: usize = 32;

impl RedisStore {
    pub(super) fn counter_key(&self, key: &ThrottleKey) -> String {
        self.key("throttle", key.as_str())
    }
}

#[async_trait]
impl ThrottleStore for RedisStore {
    /// Read, change, then a compare-and-set script that writes only if the counter
    /// still holds the text the change was computed from; a lost race reads again
    /// after a jittered pause. The change is the domain's Rust closure, so it cannot
    /// run inside Redis; the script makes its write conditional instead, which
    /// applies each change once, to the state it was computed from. Redis forgets
    /// the counter when the domain says it may (`PXAT`).
    async fn change(
        &self,
        key: &ThrottleKey,
        _now: Timestamp,
        policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError> {
        let redis_key = self.counter_key(key);
        let mut connection = self.connection().await?;
        for attempt in 0..THROTTLE_ATTEMPTS {
            if attempt > 0 {
                crate::adapters::conflict_backoff::after_conflict(attempt).await;
            }
            let stored: Option<String> = connection
                .get(&redis_key)
                .await
                .map_err(failed("read throttle counter"))?;
            let previous: Option<ThrottleState> = stored
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::new("decode throttle counter", e))?;
            let Some(next) = change(previous) else {
                return Ok(previous);
            };
            let text = serde_json::to_string(&next)
                .map_err(|e| StoreError::new("encode throttle counter", e))?;
            let forget = next.forget_after(key.scope(), policy);
            let swapped: i64 = SWAP
                .key(&redis_key)
                .arg(stored.as_deref().unwrap_or(""))
                .arg(text)
                .arg(forget.unix_millis().max(1))
                .invoke_async(&mut connection)
                .await
                .map_err(failed("write throttle counter"))?;
            if swapped == 1 {
                return Ok(previous);
            }
        }
        Err(StoreError::message("throttle counter too contended"))
    }
}
