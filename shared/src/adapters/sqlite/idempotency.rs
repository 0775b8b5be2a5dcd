use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::{CachedStatements, SqliteStore};
use crate::domain::Timestamp;
use crate::ports::{Claim, IdempotencyRecord, IdempotencyStore, StoreError};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(&self, record: &IdempotencyRecord, now: Timestamp) -> Result<Claim, StoreError> {
        let r = record.clone();
        self.call("claim idempotency key", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .cached_query_row(
                    "SELECT fingerprint, response, locked_until, expires_at FROM idempotency WHERE key = ?1",
                    [&r.key],
                    |row| {
                        Ok(IdempotencyRecord {
                            key: r.key.clone(),
                            fingerprint: row.get(0)?,
                            response: row
                                .get::<_, Option<String>>(1)?
                                .and_then(|t| serde_json::from_str::<Value>(&t).ok()),
                            locked_until: Timestamp::from_unix_millis(row.get(2)?),
                            expires_at: Timestamp::from_unix_millis(row.get(3)?),
                        })
                    },
                )
                .optional()?;
            let live = existing.filter(|e| {
                e.expires_at > now && (e.response.is_some() || e.locked_until > now)
            });
            if let Some(live) = live {
                return Ok(Claim::Existing(live));
            }
            tx.cached_execute(
                "INSERT OR REPLACE INTO idempotency (key, fingerprint, response, locked_until, expires_at)
                 VALUES (?1, ?2, NULL, ?3, ?4)",
                params![r.key, r.fingerprint, r.locked_until.unix_millis(), r.expires_at.unix_millis()],
            )?;
            tx.commit()?;
            Ok(Claim::Acquired)
        })
        .await
    }

    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError> {
        let (key, response) = (key.to_owned(), response.to_string());
        self.call("complete idempotency key", move |conn| {
            conn.cached_execute(
                "UPDATE idempotency SET response = ?1 WHERE key = ?2",
                params![response, key],
            )
            .map(drop)
        })
        .await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.call("release idempotency key", move |conn| {
            conn.cached_execute(
                "DELETE FROM idempotency WHERE key = ?1 AND response IS NULL",
                [key],
            )
            .map(drop)
        })
        .await
    }
}
