use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::domain::{Admission, LockoutPolicy, LockoutState, Timestamp};
use crate::ports::{LockoutStore, StoreError};

fn read(conn: &Connection, key: &str) -> rusqlite::Result<Option<LockoutState>> {
    conn.query_row(
        "SELECT failures, window_started_at, locked_until FROM login_lockouts WHERE account_key = ?1",
        [key],
        |row| {
            Ok(LockoutState {
                failures: row.get(0)?,
                window_started_at: Timestamp::from_unix_millis(row.get(1)?),
                locked_until: row.get::<_, Option<i64>>(2)?.map(Timestamp::from_unix_millis),
            })
        },
    )
    .optional()
}

#[async_trait]
impl LockoutStore for SqliteStore {
    async fn admit(
        &self,
        key: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<Admission, StoreError> {
        let key = key.to_owned();
        let policy = *policy;
        self.call("admit login attempt", move |conn| {
            // IMMEDIATE takes the write lock before the read, so the read-modify-write
            // is atomic across connections and processes, not just threads.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let previous = read(&tx, &key)?;
            let (state, admission) = LockoutState::admit(previous, now, &policy);
            if let Some(state) = state.filter(|s| Some(*s) != previous) {
                tx.execute(
                    "INSERT INTO login_lockouts (account_key, failures, window_started_at, locked_until)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (account_key) DO UPDATE
                        SET failures = ?2, window_started_at = ?3, locked_until = ?4",
                    params![
                        key,
                        state.failures,
                        state.window_started_at.unix_millis(),
                        state.locked_until.map(Timestamp::unix_millis)
                    ],
                )?;
            }
            tx.commit()?;
            Ok(admission)
        })
        .await
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.call("clear lockout", move |conn| {
            conn.execute("DELETE FROM login_lockouts WHERE account_key = ?1", [key])
                .map(drop)
        })
        .await
    }
}
