use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{CachedStatements, SqliteStore};
use crate::domain::{LoginThrottlePolicy, ThrottleKey, ThrottleState, Timestamp};
use crate::ports::{StoreError, ThrottleChange, ThrottleStore};

fn read(conn: &Connection, key: &str) -> rusqlite::Result<Option<ThrottleState>> {
    let text: Option<String> = conn
        .cached_query_row(
            "SELECT state FROM login_throttles WHERE throttle_key = ?1",
            [key],
            |row| row.get(0),
        )
        .optional()?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

fn write(
    conn: &Connection,
    key: &ThrottleKey,
    state: &ThrottleState,
    policy: &LoginThrottlePolicy,
) -> rusqlite::Result<()> {
    let text = serde_json::to_string(state)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.cached_execute(
        "INSERT INTO login_throttles (throttle_key, state, forget_after) VALUES (?1, ?2, ?3)
         ON CONFLICT (throttle_key) DO UPDATE SET state = ?2, forget_after = ?3",
        params![
            key.as_str(),
            text,
            state.forget_after(key.scope(), policy).unix_millis()
        ],
    )
    .map(drop)
}

#[async_trait]
impl ThrottleStore for SqliteStore {
    /// IMMEDIATE takes the write lock before the read, so the read-modify-write is
    /// atomic across connections and processes, not just threads. Counters nobody
    /// needs any more go with the writes that make them.
    async fn change(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError> {
        let (key, policy) = (key.clone(), *policy);
        self.call("change login throttle", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored = read(&tx, key.as_str())?;
            if let Some(next) = change(stored) {
                write(&tx, &key, &next, &policy)?;
                tx.cached_execute(
                    "DELETE FROM login_throttles WHERE forget_after < ?1",
                    [now.unix_millis()],
                )?;
            }
            tx.commit()?;
            Ok(stored)
        })
        .await
    }
}
