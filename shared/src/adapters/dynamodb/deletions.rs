use async_trait::async_trait;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::item::{Item, get_parsed, get_time, n, s, time};
use super::owned::owned_key;
use super::{DynamoStore, MAX_OPTIMISTIC_ATTEMPTS, is_condition_failure};
use crate::domain::{CodeHash, Deletion, DeletionId, DeletionStatus, Timestamp, UserId};
use crate::ports::{CreateDeletionError, DeletionStore, StoreError};

/// The state machine's direct DynamoDB steps (infra/deletion-workflow.asl.json)
/// build this same key: `USER#<user_id>` / `DELETION#<deletion_id>`.
fn deletion_key(user: UserId, id: DeletionId) -> Item {
    owned_key(user, &format!("DELETION#{id}"))
}

/// Which request of the user may still be pending: `USER#<user_id>` /
/// `DELETION_PENDING`, holding its `deletion_id`.
fn pending_key(user: UserId) -> Item {
    owned_key(user, "DELETION_PENDING")
}

fn deletion_from(item: &Item) -> Result<Deletion, StoreError> {
    Ok(Deletion {
        id: get_parsed(item, "deletion_id")?,
        user_id: get_parsed(item, "user_id")?,
        status: get_parsed(item, "status")?,
        // Requests written before codes were hashed have none: they never match.
        code_hash: CodeHash::from_stored(
            item.get("code_hash")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
        ),
        wrong_codes: match item.get("wrong_codes") {
            Some(_) => get_parsed(item, "wrong_codes")?,
            None => 0,
        },
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        task_token: item.get("task_token").and_then(|v| v.as_s().ok()).cloned(),
    })
}

#[async_trait]
impl DeletionStore for DynamoStore {
    /// The user's pending marker is claimed first, on condition that it still
    /// names the request read (or does not exist), and only a marker whose request
    /// is no longer pending may be taken over. Two concurrent requests cannot both
    /// win the marker. Should the request itself then fail to be written, the
    /// marker names a request that does not exist, which blocks nothing.
    async fn create(&self, deletion: &Deletion, now: Timestamp) -> Result<(), CreateDeletionError> {
        let user = deletion.user_id;
        let mut claimed = false;
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let seen = self
                .read(pending_key(user), "read pending deletion")
                .await?;
            let seen_id = match &seen {
                Some(marker) => Some(get_parsed::<DeletionId>(marker, "deletion_id")?),
                None => None,
            };
            if let Some(id) = seen_id
                && self.get(user, id).await?.is_some_and(|d| d.is_pending(now))
            {
                return Err(CreateDeletionError::AlreadyPending);
            }
            let mut marker = pending_key(user);
            marker.insert("deletion_id".into(), s(deletion.id.to_string()));
            let put = self
                .client
                .put_item()
                .table_name(self.table())
                .set_item(Some(marker));
            let put = match seen_id {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(id) => put
                    .condition_expression("deletion_id = :seen")
                    .expression_attribute_values(":seen", s(id.to_string())),
            };
            match put.send().await {
                Ok(_) => {
                    claimed = true;
                    break;
                }
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(StoreError::new("claim pending deletion", e).into()),
            }
        }
        if !claimed {
            return Err(CreateDeletionError::AlreadyPending);
        }
        let mut item = deletion_key(user, deletion.id);
        item.insert("deletion_id".into(), s(deletion.id.to_string()));
        item.insert("user_id".into(), s(user.to_string()));
        item.insert("status".into(), s(deletion.status.as_str()));
        item.insert("code_hash".into(), s(deletion.code_hash.as_str()));
        item.insert("wrong_codes".into(), n(deletion.wrong_codes));
        item.insert("created_at".into(), time(deletion.created_at));
        item.insert("expires_at".into(), time(deletion.expires_at));
        Ok(self.put_new(item, "create deletion").await?)
    }

    async fn get(&self, user: UserId, id: DeletionId) -> Result<Option<Deletion>, StoreError> {
        self.read(deletion_key(user, id), "get deletion")
            .await?
            .as_ref()
            .map(deletion_from)
            .transpose()
    }

    async fn transition(
        &self,
        user: UserId,
        id: DeletionId,
        from: &[DeletionStatus],
        to: DeletionStatus,
    ) -> Result<bool, StoreError> {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut update = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(deletion_key(user, id)))
            .update_expression("SET #status = :to")
            .condition_expression(format!("#status IN ({})", names.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()));
        for (name, status) in names.iter().zip(from) {
            update = update.expression_attribute_values(name, s(status.as_str()));
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::new("update deletion", e)),
        }
    }

    /// One atomic counter update; the one that reaches `max` expires the request
    /// (only if it is still awaiting confirmation).
    async fn record_wrong_code(
        &self,
        user: UserId,
        id: DeletionId,
        max: u32,
    ) -> Result<(), StoreError> {
        let counted = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(deletion_key(user, id)))
            .update_expression("ADD wrong_codes :one")
            .condition_expression("#status = :awaiting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(
                ":awaiting",
                s(DeletionStatus::AwaitingConfirmation.as_str()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let output = match counted {
            Ok(output) => output,
            Err(e) if is_condition_failure(&e) => return Ok(()),
            Err(e) => return Err(StoreError::new("count a wrong deletion code", e)),
        };
        let wrong: u32 = output
            .attributes()
            .map(|attributes| get_parsed(attributes, "wrong_codes"))
            .transpose()?
            .unwrap_or(0);
        if wrong >= max {
            self.transition(
                user,
                id,
                &[DeletionStatus::AwaitingConfirmation],
                DeletionStatus::Expired,
            )
            .await?;
        }
        Ok(())
    }

    async fn set_task_token(
        &self,
        user: UserId,
        id: DeletionId,
        token: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(self.table())
            .set_key(Some(deletion_key(user, id)))
            .update_expression("SET task_token = :token")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":token", s(token))
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("set deletion task token", e))
    }
}
