use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::domain::{
    Admission, LoginThrottlePolicy, Settlement, ThrottleKey, ThrottleState, Timestamp,
};
use crate::ports::{StoreError, ThrottleStore};

fn read(conn: &Connection, key: &str) -> rusqlite::Result<Option<ThrottleState>> {
    let text: Option<String> = conn
        .query_row(
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
    conn.execute(
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
    async fn admit(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<Admission, StoreError> {
        let (key, policy) = (key.clone(), *policy);
        self.call("admit login attempt", move |conn| {
            // IMMEDIATE takes the write lock before the read, so the read-modify-write
            // is atomic across connections and processes, not just threads.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let previous = read(&tx, key.as_str())?;
            let (next, admission) = ThrottleState::admit(previous, now, key.scope(), &policy);
            if let Some(next) = next {
                write(&tx, &key, &next, &policy)?;
            }
            tx.commit()?;
            Ok(admission)
        })
        .await
    }

    async fn settle(
        &self,
        key: &ThrottleKey,
        settlement: Settlement,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
    ) -> Result<(), StoreError> {
        let (key, policy) = (key.clone(), *policy);
        self.call("settle login attempt", move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let previous = read(&tx, key.as_str())?;
            let next = ThrottleState::settle(previous, now, key.scope(), settlement, &policy);
            write(&tx, &key, &next, &policy)?;
            // Counters nobody needs any more go with the writes that make them.
            tx.execute(
                "DELETE FROM login_throttles WHERE forget_after < ?1",
                [now.unix_millis()],
            )?;
            tx.commit()
        })
        .await
    }
}
