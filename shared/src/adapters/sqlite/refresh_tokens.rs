use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{CachedStatements, SqliteStore, parse_column};
use crate::domain::{RefreshTokenHash, Timestamp, UserId};
use crate::ports::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, StoreError};

const COLUMNS: &str = "token_hash, session_id, user_id, issued_at, spent_at";
const INSERT: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, user_id, issued_at, spent_at)
                      VALUES (?1, ?2, ?3, ?4, ?5)";

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<RefreshTokenRecord> {
    Ok(RefreshTokenRecord {
        hash: RefreshTokenHash::from_stored(row.get(0)?),
        session_id: parse_column(row.get(1)?, 1)?,
        user_id: parse_column(row.get(2)?, 2)?,
        issued_at: Timestamp::from_unix_millis(row.get(3)?),
        spent_at: row
            .get::<_, Option<i64>>(4)?
            .map(Timestamp::from_unix_millis),
    })
}

fn insert_params(r: &RefreshTokenRecord) -> (String, String, String, i64, Option<i64>) {
    (
        r.hash.as_str().to_owned(),
        r.session_id.to_string(),
        r.user_id.to_string(),
        r.issued_at.unix_millis(),
        r.spent_at.map(Timestamp::unix_millis),
    )
}

#[async_trait]
impl RefreshTokenStore for SqliteStore {
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        let row = insert_params(record);
        self.call("insert refresh token", move |conn| {
            conn.cached_execute(INSERT, row).map(drop)
        })
        .await
    }

    async fn find(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.read("find refresh token", move |conn| {
            conn.cached_query_row(
                &format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash = ?1"),
                [hash],
                record_from_row,
            )
            .optional()
        })
        .await
    }

    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError> {
        let old = old.as_str().to_owned();
        let new = insert_params(new);
        self.call("rotate refresh token", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let spent = tx.cached_execute(
                "UPDATE refresh_tokens SET spent_at = ?1 WHERE token_hash = ?2 AND spent_at IS NULL",
                params![now.unix_millis(), old],
            )?;
            if spent == 0 {
                return Ok(RotateOutcome::AlreadySpent);
            }
            tx.cached_execute(INSERT, new)?;
            tx.commit()?;
            Ok(RotateOutcome::Rotated)
        })
        .await
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.call("delete refresh tokens of user", move |conn| {
            conn.cached_execute(
                "DELETE FROM refresh_tokens WHERE user_id = ?1",
                [user.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
