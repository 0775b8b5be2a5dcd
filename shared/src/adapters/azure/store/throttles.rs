use async_trait::async_trait;

use super::TableStore;
use crate::adapters::azure::table::Write;
use crate::domain::{
    Admission, LoginThrottlePolicy, Settlement, ThrottleKey, ThrottleState, Timestamp,
};
use crate::ports::{StoreError, ThrottleStore};

const ROW: &str = "throttle";

/// Tries per admission or settlement: a client's counter is written by every
/// login from its address, so it sees more concurrent writers than any record.
const THROTTLE_ATTEMPTS: usize = 32;

/// The key is already a fixed-length digest, safe as a PartitionKey.
fn throttle_pk(key: &ThrottleKey) -> String {
    format!("throttle_{}", key.as_str())
}

impl TableStore {
    /// Read, decide, then insert or replace on the ETag; a lost race reads again,
    /// so each admission or settlement is applied exactly once.
    async fn modify_throttle<R>(
        &self,
        key: &ThrottleKey,
        decide: impl Fn(Option<ThrottleState>) -> (Option<ThrottleState>, R) + Send + Sync,
    ) -> Result<R, StoreError> {
        let pk = throttle_pk(key);
        for attempt in 0..THROTTLE_ATTEMPTS {
            if attempt > 0 {
                crate::adapters::conflict_backoff::after_conflict(attempt).await;
            }
            let stored = self
                .table
                .get::<ThrottleState>(&pk, ROW, "read throttle counter")
                .await?;
            let (next, result) = decide(stored.as_ref().map(|s| s.value));
            let Some(next) = next else {
                return Ok(result);
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
                return Ok(result);
            }
        }
        Err(StoreError::message("throttle counter too contended"))
    }
}

#[async_trait]
impl ThrottleStore for TableStore {
    async fn admit(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<Admission, StoreError> {
        self.modify_throttle(key, |previous| {
            ThrottleState::admit(previous, now, key.scope(), policy)
        })
        .await
    }

    async fn settle(
        &self,
        key: &ThrottleKey,
        settlement: Settlement,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<(), StoreError> {
        self.modify_throttle(key, |previous| {
            let next = ThrottleState::settle(previous, now, key.scope(), settlement, policy);
            (Some(next), ())
        })
        .await
    }
}
