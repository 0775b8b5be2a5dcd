use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{Row, params};

use super::{CachedStatements, SqliteStore, parse_column};
use crate::domain::{Notification, UserId};
use crate::ports::{NotificationStore, StoreError};

fn notification_from_row(row: &Row<'_>) -> rusqlite::Result<Notification> {
    let event: String = row.get(1)?;
    Ok(Notification {
        id: parse_column(row.get(0)?, 0)?,
        event: serde_json::from_str(&event)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e)))?,
    })
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn add(&self, notification: &Notification) -> Result<(), StoreError> {
        let event = serde_json::to_string(&notification.event)
            .map_err(|e| StoreError::new("encode notification", e))?;
        let (id, user, at) = (
            notification.id.to_string(),
            notification.event.user_id.to_string(),
            notification.event.occurred_at,
        );
        self.call("insert notification", move |conn| {
            conn.cached_execute(
                "INSERT OR IGNORE INTO notifications (notification_id, user_id, occurred_at, event)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, user, at, event],
            )
            .map(drop)
        })
        .await
    }

    async fn list(&self, user: UserId, limit: usize) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("list notifications", move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT notification_id, event FROM notifications WHERE user_id = ?1
                  ORDER BY occurred_at DESC, notification_id DESC LIMIT ?2",
            )?;
            statement
                .query_map(params![user.to_string(), limit], notification_from_row)?
                .collect()
        })
        .await
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.call("delete notifications of user", move |conn| {
            conn.cached_execute(
                "DELETE FROM notifications WHERE user_id = ?1",
                [user.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
