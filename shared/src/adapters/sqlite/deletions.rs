use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, parse_column};
use crate::domain::{ConfirmationCode, Deletion, DeletionId, DeletionStatus, Timestamp, UserId};
use crate::ports::{DeletionStore, StoreError};

const COLUMNS: &str = "deletion_id, user_id, status, code, created_at, expires_at, task_token";

fn deletion_from_row(row: &Row<'_>) -> rusqlite::Result<Deletion> {
    Ok(Deletion {
        id: parse_column(row.get(0)?, 0)?,
        user_id: parse_column(row.get(1)?, 1)?,
        status: parse_column(row.get(2)?, 2)?,
        code: ConfirmationCode::from_stored(row.get(3)?),
        created_at: Timestamp::from_unix_millis(row.get(4)?),
        expires_at: Timestamp::from_unix_millis(row.get(5)?),
        task_token: row.get(6)?,
    })
}

#[async_trait]
impl DeletionStore for SqliteStore {
    async fn create(&self, deletion: &Deletion) -> Result<(), StoreError> {
        let d = deletion.clone();
        self.call("insert deletion", move |conn| {
            conn.execute(
                &format!("INSERT INTO deletions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    d.id.to_string(),
                    d.user_id.to_string(),
                    d.status.as_str(),
                    d.code.as_str(),
                    d.created_at.unix_millis(),
                    d.expires_at.unix_millis(),
                    d.task_token
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn get(&self, user: UserId, id: DeletionId) -> Result<Option<Deletion>, StoreError> {
        self.call("get deletion", move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM deletions WHERE deletion_id = ?1 AND user_id = ?2"),
                [id.to_string(), user.to_string()],
                deletion_from_row,
            )
            .optional()
        })
        .await
    }

    async fn transition(
        &self,
        user: UserId,
        id: DeletionId,
        from: &[DeletionStatus],
        to: DeletionStatus,
    ) -> Result<bool, StoreError> {
        let from: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
        self.call("update deletion", move |conn| {
            let placeholders = vec!["?"; from.len()].join(", ");
            let sql = format!(
                "UPDATE deletions SET status = ? WHERE deletion_id = ? AND user_id = ? AND status IN ({placeholders})"
            );
            let mut values: Vec<String> = vec![to.as_str().into(), id.to_string(), user.to_string()];
            values.extend(from.iter().map(|s| (*s).to_owned()));
            conn.execute(&sql, rusqlite::params_from_iter(values))
                .map(|changed| changed == 1)
        })
        .await
    }

    async fn set_task_token(
        &self,
        user: UserId,
        id: DeletionId,
        token: &str,
    ) -> Result<(), StoreError> {
        let token = token.to_owned();
        self.call("set deletion task token", move |conn| {
            conn.execute(
                "UPDATE deletions SET task_token = ?1 WHERE deletion_id = ?2 AND user_id = ?3",
                params![token, id.to_string(), user.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
