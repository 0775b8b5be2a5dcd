use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::domain::{LockoutPolicy, LockoutState, Timestamp};
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
    async fn get(&self, key: &str) -> Result<Option<LockoutState>, StoreError> {
        let key = key.to_owned();
        self.call("read lockout", move |conn| read(conn, &key))
            .await
    }

    async fn record_failure(
        &self,
        key: &str,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> Result<LockoutState, StoreError> {
        let key = key.to_owned();
        let policy = *policy;
        self.call("record login failure", move |conn| {
            // IMMEDIATE takes the write lock before the read: no two failures can
            // read the same count.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let state = LockoutState::after_failure(read(&tx, &key)?, now, &policy);
            tx.execute(
                "INSERT INTO login_lockouts (account_key, failures, window_started_at, locked_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account_key) DO UPDATE SET failures = ?2, window_started_at = ?3, locked_until = ?4",
                params![
                    key,
                    state.failures,
                    state.window_started_at.unix_millis(),
                    state.locked_until.map(Timestamp::unix_millis)
                ],
            )?;
            tx.commit()?;
            Ok(state)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        duration: Duration::from_secs(30),
    };

    #[tokio::test]
    async fn counts_failures_and_clears() {
        let store = SqliteStore::open_in_memory().unwrap();
        let now = Timestamp::from_unix_millis(10_000);
        for expected in 1..=3 {
            let state = store
                .record_failure("alice@example.com", now, &POLICY)
                .await
                .unwrap();
            assert_eq!(state.failures, expected);
        }
        let stored = store.get("alice@example.com").await.unwrap().unwrap();
        assert_eq!(stored.retry_after(now), Some(Duration::from_secs(30)));
        assert_eq!(store.get("bob@example.com").await.unwrap(), None);
        store.clear("alice@example.com").await.unwrap();
        assert_eq!(store.get("alice@example.com").await.unwrap(), None);
    }

    #[tokio::test]
    async fn concurrent_failures_are_all_counted() {
        let store = SqliteStore::open_in_memory().unwrap();
        let policy = LockoutPolicy {
            max_failures: 100,
            ..POLICY
        };
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .record_failure("k", Timestamp::from_unix_millis(1_000), &policy)
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.get("k").await.unwrap().unwrap().failures, 20);
    }
}
