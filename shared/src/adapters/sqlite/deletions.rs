use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{CachedStatements, SqliteStore, is_unique_violation, parse_column};
use crate::domain::{CodeHash, Deletion, DeletionId, DeletionStatus, Timestamp, UserId};
use crate::ports::{CreateDeletionError, DeletionStore, StoreError};

/// `code` holds the code's hash.
const COLUMNS: &str =
    "deletion_id, user_id, status, code, created_at, expires_at, task_token, wrong_codes";

fn deletion_from_row(row: &Row<'_>) -> rusqlite::Result<Deletion> {
    Ok(Deletion {
        id: parse_column(row.get(0)?, 0)?,
        user_id: parse_column(row.get(1)?, 1)?,
        status: parse_column(row.get(2)?, 2)?,
        code_hash: CodeHash::from_stored(row.get(3)?),
        created_at: Timestamp::from_unix_millis(row.get(4)?),
        expires_at: Timestamp::from_unix_millis(row.get(5)?),
        task_token: row.get(6)?,
        wrong_codes: row.get(7)?,
    })
}

#[async_trait]
impl DeletionStore for SqliteStore {
    /// A partial unique index allows one `awaiting_confirmation` row per user;
    /// requests past their window are expired first, in the same transaction, so
    /// an abandoned request never blocks a new one.
    async fn create(&self, deletion: &Deletion, now: Timestamp) -> Result<(), CreateDeletionError> {
        let d = deletion.clone();
        let result = self
            .call("insert deletion", move |conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                tx.cached_execute(
                    "UPDATE deletions SET status = 'expired'
                     WHERE user_id = ?1 AND status = 'awaiting_confirmation' AND expires_at <= ?2",
                    params![d.user_id.to_string(), now.unix_millis()],
                )?;
                let inserted = tx.cached_execute(
                    &format!(
                        "INSERT INTO deletions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        d.id.to_string(),
                        d.user_id.to_string(),
                        d.status.as_str(),
                        d.code_hash.as_str(),
                        d.created_at.unix_millis(),
                        d.expires_at.unix_millis(),
                        d.task_token,
                        d.wrong_codes
                    ],
                );
                match inserted {
                    Ok(_) => tx.commit().map(|()| true),
                    Err(e) if is_unique_violation(&e) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        if result {
            Ok(())
        } else {
            Err(CreateDeletionError::AlreadyPending)
        }
    }

    async fn get(&self, user: UserId, id: DeletionId) -> Result<Option<Deletion>, StoreError> {
        self.read("get deletion", move |conn| {
            conn.cached_query_row(
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
            conn.cached_execute(&sql, rusqlite::params_from_iter(values))
                .map(|changed| changed == 1)
        })
        .await
    }

    async fn record_wrong_code(
        &self,
        user: UserId,
        id: DeletionId,
        max: u32,
    ) -> Result<(), StoreError> {
        self.call("count a wrong deletion code", move |conn| {
            conn.cached_execute(
                "UPDATE deletions
                 SET wrong_codes = wrong_codes + 1,
                     status = CASE WHEN wrong_codes + 1 >= ?1 THEN 'expired' ELSE status END
                 WHERE deletion_id = ?2 AND user_id = ?3 AND status = 'awaiting_confirmation'",
                params![max, id.to_string(), user.to_string()],
            )
            .map(drop)
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
            conn.cached_execute(
                "UPDATE deletions SET task_token = ?1 WHERE deletion_id = ?2 AND user_id = ?3",
                params![token, id.to_string(), user.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
