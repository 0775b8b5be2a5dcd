use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, get_parsed, get_s, n, s};
use super::{DynamoStore, TTL_ATTRIBUTE, is_condition_failure};
use crate::domain::{
    Admission, LoginThrottlePolicy, Settlement, ThrottleKey, ThrottleState, Timestamp,
};
use crate::ports::{StoreError, ThrottleStore};

/// Tries per admission or settlement: a client's counter is written by every
/// login from its address, so it sees more concurrent writers than any record.
const THROTTLE_ATTEMPTS: usize = 32;

fn throttle_key(key: &ThrottleKey) -> Item {
    super::item::key(format!("THROTTLE#{}", key.as_str()), "THROTTLE")
}

/// The stored state and its revision, the token for the optimistic write.
fn state_from(item: &Item) -> Result<(ThrottleState, u64), StoreError> {
    let state = serde_json::from_str(get_s(item, "state")?)
        .map_err(|e| StoreError::new("decode throttle counter", e))?;
    Ok((state, get_parsed(item, "rev")?))
}

impl DynamoStore {
    /// Read, decide, then write on condition that the revision is unchanged; a lost
    /// race reads again. Each admission or settlement is therefore applied once.
    async fn modify_throttle<R>(
        &self,
        key: &ThrottleKey,
        policy: &LoginThrottlePolicy,
        decide: impl Fn(Option<ThrottleState>) -> (Option<ThrottleState>, R),
    ) -> Result<R, StoreError> {
        for attempt in 0..THROTTLE_ATTEMPTS {
            if attempt > 0 {
                crate::adapters::conflict_backoff::after_conflict(attempt).await;
            }
            let stored = self
                .read(throttle_key(key), "read throttle counter")
                .await?
                .as_ref()
                .map(state_from)
                .transpose()?;
            let (next, result) = decide(stored.map(|(state, _)| state));
            let Some(next) = next else {
                return Ok(result);
            };
            let text = serde_json::to_string(&next)
                .map_err(|e| StoreError::new("encode throttle counter", e))?;
            let mut item = throttle_key(key);
            item.insert("state".into(), s(text));
            item.insert("rev".into(), n(stored.map_or(1, |(_, rev)| rev + 1)));
            let forget = next.forget_after(key.scope(), policy);
            item.insert(TTL_ATTRIBUTE.into(), n(forget.unix_seconds() + 86_400));
            let put = self
                .client
                .put_item()
                .table_name(self.table())
                .set_item(Some(item));
            let put = match stored {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some((_, rev)) => put
                    .condition_expression("rev = :rev")
                    .expression_attribute_values(":rev", AttributeValue::N(rev.to_string())),
            };
            match put.send().await {
                Ok(_) => return Ok(result),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(StoreError::new("write throttle counter", e)),
            }
        }
        Err(StoreError::message("throttle counter too contended"))
    }
}

#[async_trait]
impl ThrottleStore for DynamoStore {
    async fn admit(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<Admission, StoreError> {
        self.modify_throttle(key, policy, |previous| {
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
        self.modify_throttle(key, policy, |previous| {
            let next = ThrottleState::settle(previous, now, key.scope(), settlement, policy);
            (Some(next), ())
        })
        .await
    }
}
