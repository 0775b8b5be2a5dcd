use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{SqliteStore, parse_column};
use crate::domain::{RefreshTokenHash, Timestamp};
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
            conn.execute(INSERT, row).map(drop)
        })
        .await
    }

    async fn find(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.call("find refresh token", move |conn| {
            conn.query_row(
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
            let spent = tx.execute(
                "UPDATE refresh_tokens SET spent_at = ?1 WHERE token_hash = ?2 AND spent_at IS NULL",
                params![now.unix_millis(), old],
            )?;
            if spent == 0 {
                return Ok(RotateOutcome::AlreadySpent);
            }
            tx.execute(INSERT, new)?;
            tx.commit()?;
            Ok(RotateOutcome::Rotated)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RefreshToken, SessionId, UserId};

    fn record() -> RefreshTokenRecord {
        RefreshTokenRecord {
            hash: RefreshToken::generate().hash(),
            session_id: SessionId::new_random(),
            user_id: UserId::new_random(),
            issued_at: Timestamp::from_unix_millis(1_000),
            spent_at: None,
        }
    }

    #[tokio::test]
    async fn rotation_spends_the_old_token_exactly_once() {
        let store = SqliteStore::open_in_memory().unwrap();
        let first = record();
        store.insert(&first).await.unwrap();
        let second = RefreshTokenRecord {
            hash: RefreshToken::generate().hash(),
            ..first.clone()
        };
        let now = Timestamp::from_unix_millis(2_000);
        assert_eq!(
            store.rotate(&first.hash, &second, now).await.unwrap(),
            RotateOutcome::Rotated
        );
        assert_eq!(
            store.find(&first.hash).await.unwrap().unwrap().spent_at,
            Some(now)
        );
        assert_eq!(
            store.find(&second.hash).await.unwrap(),
            Some(second.clone())
        );

        let third = RefreshTokenRecord {
            hash: RefreshToken::generate().hash(),
            ..first.clone()
        };
        assert_eq!(
            store.rotate(&first.hash, &third, now).await.unwrap(),
            RotateOutcome::AlreadySpent
        );
        assert_eq!(
            store.find(&third.hash).await.unwrap(),
            None,
            "a lost race inserts nothing"
        );
    }

    #[tokio::test]
    async fn concurrent_rotations_have_one_winner() {
        let store = SqliteStore::open_in_memory().unwrap();
        let first = record();
        store.insert(&first).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            let old = first.hash.clone();
            let next = RefreshTokenRecord {
                hash: RefreshToken::generate().hash(),
                ..first.clone()
            };
            tasks.push(tokio::spawn(async move {
                store
                    .rotate(&old, &next, Timestamp::from_unix_millis(3_000))
                    .await
                    .unwrap()
            }));
        }
        let mut rotated = 0;
        for task in tasks {
            if task.await.unwrap() == RotateOutcome::Rotated {
                rotated += 1;
            }
        }
        assert_eq!(rotated, 1);
    }
}
