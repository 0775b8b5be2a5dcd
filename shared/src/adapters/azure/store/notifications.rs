use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{TableStore, parse, user_pk};
use crate::domain::{Event, Notification, UserId};
use crate::ports::{NotificationStore, StoreError};

#[derive(Serialize, Deserialize)]
struct NotificationDoc {
    notification_id: String,
    event: Event,
}

const PREFIX: &str = "notif_";
/// 15 digits of milliseconds reach the year 33658.
const LATEST_MILLIS: i64 = 999_999_999_999_999;

/// Inverted time first, so an ascending scan lists newest first; the id second,
/// so the same event maps to the same entity.
fn notification_row(notification: &Notification) -> String {
    let at = notification.event.occurred_at.clamp(0, LATEST_MILLIS);
    format!("{PREFIX}{:015}_{}", LATEST_MILLIS - at, notification.id)
}

#[async_trait]
impl NotificationStore for TableStore {
    async fn add(&self, notification: &Notification) -> Result<(), StoreError> {
        let doc = NotificationDoc {
            notification_id: notification.id.to_string(),
            event: notification.event.clone(),
        };
        // A conflict is an earlier delivery of the same event: already stored.
        self.table
            .insert(
                &user_pk(notification.event.user_id),
                &notification_row(notification),
                &doc,
                "add notification",
            )
            .await
            .map(drop)
    }

    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.table
            .query::<NotificationDoc>(
                &user_pk(user),
                PREFIX,
                None,
                Some(limit),
                "list notifications",
            )
            .await?
            .into_iter()
            .map(|(_, doc)| {
                Ok(Notification {
                    id: parse(&doc.notification_id, "decode notification")?,
                    event: doc.event,
                })
            })
            .collect()
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.delete_owned(user, PREFIX, "delete notifications of user")
            .await
            .map(drop)
    }
}
