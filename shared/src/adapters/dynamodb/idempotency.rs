use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde_json::Value;

use super::item::{Item, get_s, get_time, key, n, s, time};
use super::{DynamoStore, TTL_ATTRIBUTE, is_condition_failure};
use crate::domain::Timestamp;
use crate::ports::{Claim, IdempotencyRecord, IdempotencyStore, StoreError};

fn record_key(key_text: &str) -> Item {
    key(format!("IDEMPOTENCY#{key_text}"), "IDEMPOTENCY")
}

fn record_from(key: &str, item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let response = match item.get("response") {
        Some(AttributeValue::S(text)) => Some(
            serde_json::from_str::<Value>(text)
                .map_err(|e| StoreError::new("decode idempotency record", e))?,
        ),
        _ => None,
    };
    Ok(IdempotencyRecord {
        key: key.to_owned(),
        fingerprint: get_s(item, "fingerprint")?.to_owned(),
        response,
        locked_until: get_time(item, "locked_until")?,
        expires_at: get_time(item, "expires_at")?,
    })
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    /// One conditional put: it succeeds only if no live record holds the key, and
    /// on failure DynamoDB returns the record that holds it.
    async fn claim(&self, record: &IdempotencyRecord, now: Timestamp) -> Result<Claim, StoreError> {
        let mut item = record_key(&record.key);
        item.insert("fingerprint".into(), s(&record.fingerprint));
        item.insert("locked_until".into(), time(record.locked_until));
        item.insert("expires_at".into(), time(record.expires_at));
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(record.expires_at.unix_seconds() + 1),
        );
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now \
                 OR (attribute_not_exists(#response) AND locked_until <= :now)",
            )
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":now", time(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if is_condition_failure(&e) => {
                let held = match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
                    _ => None,
                };
                match held {
                    Some(item) => record_from(&record.key, &item).map(Claim::Existing),
                    None => {
                        let item = self
                            .read(record_key(&record.key), "read idempotency record")
                            .await?
                            .ok_or_else(|| StoreError::message("idempotency record vanished"))?;
                        record_from(&record.key, &item).map(Claim::Existing)
                    }
                }
            }
            Err(e) => Err(StoreError::new("claim idempotency key", e)),
        }
    }

    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(self.table())
            .set_key(Some(record_key(key)))
            .update_expression("SET #response = :response")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":response", s(response.to_string()))
            .return_values(ReturnValue::None)
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("complete idempotency key", e))
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(record_key(key)))
            .condition_expression("attribute_not_exists(#response)")
            .expression_attribute_names("#response", "response")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::new("release idempotency key", e)),
        }
    }
}
