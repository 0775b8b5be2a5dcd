use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, get_parsed, get_s, n, s};
use super::{DynamoStore, TTL_ATTRIBUTE, is_condition_failure};
use crate::domain::{LoginThrottlePolicy, ThrottleKey, ThrottleState, Timestamp};
use crate::ports::{StoreError, ThrottleChange, ThrottleStore};

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

#[async_trait]
impl ThrottleStore for DynamoStore {
    /// Read, change, then write on condition that the revision is unchanged; a lost
    /// race reads again after a jittered pause. Each change is therefore applied
    /// once, to the state it was computed from.
    async fn change(
        &self,
        key: &ThrottleKey,
        _now: Timestamp,
        policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError> {
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
            let previous = stored.map(|(state, _)| state);
            let Some(next) = change(previous) else {
                return Ok(previous);
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
                Ok(_) => return Ok(previous),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(StoreError::new("write throttle counter", e)),
            }
        }
        Err(StoreError::message("throttle counter too contended"))
    }
}
