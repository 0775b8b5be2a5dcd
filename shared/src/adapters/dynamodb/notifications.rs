use async_trait::async_trait;

use super::item::{Item, get_parsed, get_s, s};
use super::owned::{OwnedQuery, key_of, owned_key};
use super::{DynamoStore, is_condition_failure};
use crate::domain::{Notification, UserId};
use crate::ports::{NotificationStore, StoreError};

const PREFIX: &str = "NOTIF#";

/// Time first (zero-padded milliseconds), so a partition query lists newest first;
/// the id second, so the same event maps to the same item.
fn notification_key(notification: &Notification) -> Item {
    let at = notification.event.occurred_at.max(0);
    owned_key(
        notification.event.user_id,
        &format!("{PREFIX}{at:015}#{}", notification.id),
    )
}

fn notification_from(item: &Item) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: get_parsed(item, "notification_id")?,
        event: serde_json::from_str(get_s(item, "event")?)
            .map_err(|e| StoreError::new("decode notification", e))?,
    })
}

#[async_trait]
impl NotificationStore for DynamoStore {
    async fn add(&self, notification: &Notification) -> Result<(), StoreError> {
        let mut item = notification_key(notification);
        item.insert("notification_id".into(), s(notification.id.to_string()));
        let event = serde_json::to_string(&notification.event)
            .map_err(|e| StoreError::new("encode notification", e))?;
        item.insert("event".into(), s(event));
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already stored by an earlier delivery of the same event.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::new("add notification", e)),
        }
    }

    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Notification>, StoreError> {
        let query = OwnedQuery {
            prefix: PREFIX,
            newest_first: true,
            limit: Some(i32::try_from(limit).unwrap_or(i32::MAX)),
            below: None,
        };
        self.query_owned(user, query)
            .await?
            .iter()
            .map(notification_from)
            .collect()
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let items = self.query_owned(user, OwnedQuery::all(PREFIX)).await?;
        self.delete_keys(items.iter().map(key_of), "delete notifications of user")
            .await
    }
}
