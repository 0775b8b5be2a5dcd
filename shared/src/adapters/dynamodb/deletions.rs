use async_trait::async_trait;

use super::item::{Item, get_parsed, get_s, get_time, s, time};
use super::owned::owned_key;
use super::{DynamoStore, is_condition_failure};
use crate::domain::{ConfirmationCode, Deletion, DeletionId, DeletionStatus, UserId};
use crate::ports::{DeletionStore, StoreError};

/// The state machine's direct DynamoDB steps (infra/deletion-workflow.asl.json)
/// build this same key: `USER#<user_id>` / `DELETION#<deletion_id>`.
fn deletion_key(user: UserId, id: DeletionId) -> Item {
    owned_key(user, &format!("DELETION#{id}"))
}

fn deletion_from(item: &Item) -> Result<Deletion, StoreError> {
    Ok(Deletion {
        id: get_parsed(item, "deletion_id")?,
        user_id: get_parsed(item, "user_id")?,
        status: get_parsed(item, "status")?,
        code: ConfirmationCode::from_stored(get_s(item, "code")?.to_owned()),
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        task_token: item.get("task_token").and_then(|v| v.as_s().ok()).cloned(),
    })
}

#[async_trait]
impl DeletionStore for DynamoStore {
    async fn create(&self, deletion: &Deletion) -> Result<(), StoreError> {
        let mut item = deletion_key(deletion.user_id, deletion.id);
        item.insert("deletion_id".into(), s(deletion.id.to_string()));
        item.insert("user_id".into(), s(deletion.user_id.to_string()));
        item.insert("status".into(), s(deletion.status.as_str()));
        item.insert("code".into(), s(deletion.code.as_str()));
        item.insert("created_at".into(), time(deletion.created_at));
        item.insert("expires_at".into(), time(deletion.expires_at));
        self.put_new(item, "create deletion").await
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
