use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, get_opt_time, get_parsed, get_time, key, n, time};
use super::{DynamoStore, MAX_OPTIMISTIC_ATTEMPTS, TTL_ATTRIBUTE};
use crate::domain::{Admission, LockoutPolicy, LockoutState, Timestamp};
use crate::ports::{LockoutStore, StoreError};

fn lockout_key(login: &str) -> Item {
    key(format!("LOCKOUT#{login}"), "LOCKOUT")
}

/// The stored state and its revision, the token for the optimistic write.
fn state_from(item: &Item) -> Result<(LockoutState, u64), StoreError> {
    Ok((
        LockoutState {
            failures: get_parsed(item, "failures")?,
            window_started_at: get_time(item, "window_started_at")?,
            locked_until: get_opt_time(item, "locked_until")?,
        },
        get_parsed(item, "rev")?,
    ))
}

#[async_trait]
impl LockoutStore for DynamoStore {
    /// Read, decide, then write on condition that the revision is unchanged; a lost
    /// race re-reads. Each admitted attempt is therefore exactly one increment.
    async fn admit(
        &self,
        login: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<Admission, StoreError> {
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let stored = self
                .read(lockout_key(login), "read lockout")
                .await?
                .as_ref()
                .map(state_from)
                .transpose()?;
            let previous = stored.map(|(state, _)| state);
            let (next, admission) = LockoutState::admit(previous, now, policy);
            let Some(next) = next.filter(|n| Some(*n) != previous) else {
                return Ok(admission);
            };

            let expires = next
                .locked_until
                .unwrap_or(next.window_started_at.saturating_add(policy.window));
            let mut item = lockout_key(login);
            item.insert("failures".into(), n(next.failures));
            item.insert("window_started_at".into(), time(next.window_started_at));
            if let Some(until) = next.locked_until {
                item.insert("locked_until".into(), time(until));
            }
            item.insert("rev".into(), n(stored.map_or(1, |(_, rev)| rev + 1)));
            item.insert(TTL_ATTRIBUTE.into(), n(expires.unix_seconds() + 86_400));
            let mut put = self
                .client
                .put_item()
                .table_name(self.table())
                .set_item(Some(item));
            put = match stored {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some((_, rev)) => put
                    .condition_expression("rev = :rev")
                    .expression_attribute_values(":rev", AttributeValue::N(rev.to_string())),
            };
            match put.send().await {
                Ok(_) => return Ok(admission),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(StoreError::new("write lockout", e)),
            }
        }
        Err(StoreError::message("lockout counter too contended"))
    }

    async fn clear(&self, login: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(lockout_key(login)))
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("clear lockout", e))
    }
}
