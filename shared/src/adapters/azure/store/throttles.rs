use async_trait::async_trait;

use super::TableStore;
use crate::adapters::azure::table::Write;
use crate::domain::{LoginThrottlePolicy, ThrottleKey, ThrottleState, Timestamp};
use crate::ports::{StoreError, ThrottleChange, ThrottleStore};

const ROW: &str = "throttle";

/// Tries per admission or settlement: a client's counter is written by every
/// login from its address, so it sees more concurrent writers than any record.
const THROTTLE_ATTEMPTS: usize = 32;

/// The key is already a fixed-length digest, safe as a PartitionKey.
fn throttle_pk(key: &ThrottleKey) -> String {
    format!("throttle_{}", key.as_str())
}

#[async_trait]
impl ThrottleStore for TableStore {
    /// Read, change, then insert or replace on the ETag; a lost race reads again
    /// after a jittered pause, so each change is applied once, to the state it was
    /// computed from. Table storage has no TTL: counters are overwritten on reuse.
    async fn change(
        &self,
        key: &ThrottleKey,
        _now: Timestamp,
        _policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError> {
        let pk = throttle_pk(key);
        for attempt in 0..THROTTLE_ATTEMPTS {
            if attempt > 0 {
                crate::adapters::conflict_backoff::after_conflict(attempt).await;
            }
            let stored = self
                .table
                .get::<ThrottleState>(&pk, ROW, "read throttle counter")
                .await?;
            let previous = stored.as_ref().map(|s| s.value);
            let Some(next) = change(previous) else {
                return Ok(previous);
            };
            let written = match &stored {
                None => {
                    self.table
                        .insert(&pk, ROW, &next, "write throttle counter")
                        .await?
                }
                Some(s) => {
                    self.table
                        .replace(&pk, ROW, &next, &s.etag, "write throttle counter")
                        .await?
                }
            };
            if written == Write::Done {
                return Ok(previous);
            }
        }
        Err(StoreError::message("throttle counter too contended"))
    }
}
