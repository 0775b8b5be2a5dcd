use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, parse_column};
use crate::domain::{Session, SessionData, SessionId, Timestamp, Version};
use crate::ports::{SessionStore, SessionWrite, StoreError};

const COLUMNS: &str = "session_id, user_id, data, version, created_at, last_extended_at, revoked";

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    let data: String = row.get(2)?;
    let data = serde_json::from_str(&data)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(e)))
        .and_then(|value| {
            SessionData::parse(value)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(e)))
        })?;
    Ok(Session {
        id: parse_column(row.get(0)?, 0)?,
        user_id: parse_column(row.get(1)?, 1)?,
        data,
        version: version_from_sql(row.get(3)?)?,
        created_at: Timestamp::from_unix_millis(row.get(4)?),
        last_extended_at: Timestamp::from_unix_millis(row.get(5)?),
        revoked: row.get(6)?,
    })
}

/// SQLite integers are signed; a version never gets near `i64::MAX`.
fn version_to_sql(version: Version) -> i64 {
    i64::try_from(version.get()).unwrap_or(i64::MAX)
}

fn version_from_sql(value: i64) -> rusqlite::Result<Version> {
    u64::try_from(value)
        .map(Version::new)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Integer, Box::new(e)))
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let s = session.clone();
        self.call("insert session", move |conn| {
            conn.execute(
                &format!("INSERT INTO sessions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    s.id.to_string(),
                    s.user_id.to_string(),
                    s.data.to_json_string(),
                    version_to_sql(s.version),
                    s.created_at.unix_millis(),
                    s.last_extended_at.unix_millis(),
                    s.revoked
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.call("get session", move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM sessions WHERE session_id = ?1"),
                [id.to_string()],
                session_from_row,
            )
            .optional()
        })
        .await
    }

    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError> {
        let json = data.to_json_string();
        let written = self
            .call("write session data", move |conn| {
                conn.query_row(
                    &format!(
                        "UPDATE sessions
                            SET data = ?1, version = version + 1,
                                last_extended_at = MAX(last_extended_at, ?2)
                          WHERE session_id = ?3 AND version = ?4 AND revoked = 0
                      RETURNING {COLUMNS}"
                    ),
                    params![
                        json,
                        now.unix_millis(),
                        id.to_string(),
                        version_to_sql(expected)
                    ],
                    session_from_row,
                )
                .optional()
            })
            .await?;
        Ok(written.map_or(SessionWrite::Conflict, SessionWrite::Written))
    }

    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError> {
        self.call("extend session", move |conn| {
            conn.execute(
                "UPDATE sessions SET last_extended_at = MAX(last_extended_at, ?1) WHERE session_id = ?2",
                params![now.unix_millis(), id.to_string()],
            )
            .map(drop)
        })
        .await
    }

    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        self.call("revoke session", move |conn| {
            conn.execute(
                "UPDATE sessions SET revoked = 1 WHERE session_id = ?1",
                [id.to_string()],
            )
            .map(drop)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::UserId;

    fn new_session() -> Session {
        Session::start(
            SessionId::new_random(),
            UserId::new_random(),
            Timestamp::from_unix_millis(1_000),
        )
    }

    fn data(value: serde_json::Value) -> SessionData {
        SessionData::parse(value).unwrap()
    }

    #[tokio::test]
    async fn round_trips_a_session() {
        let store = SqliteStore::open_in_memory().unwrap();
        let session = new_session();
        store.create(&session).await.unwrap();
        assert_eq!(store.get(session.id).await.unwrap(), Some(session));
        assert_eq!(store.get(SessionId::new_random()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn write_is_conditional_on_version() {
        let store = SqliteStore::open_in_memory().unwrap();
        let session = new_session();
        store.create(&session).await.unwrap();
        let now = Timestamp::from_unix_millis(5_000);
        let SessionWrite::Written(v2) = store
            .write_data(session.id, Version::INITIAL, &data(json!({"a": 1})), now)
            .await
            .unwrap()
        else {
            panic!("first write must succeed");
        };
        assert_eq!(v2.version, Version::new(2));
        assert_eq!(v2.last_extended_at, now);
        assert!(matches!(
            store
                .write_data(session.id, Version::INITIAL, &data(json!({"b": 2})), now)
                .await
                .unwrap(),
            SessionWrite::Conflict
        ));
        assert_eq!(
            store.get(session.id).await.unwrap().unwrap().data,
            data(json!({"a": 1}))
        );
    }

    #[tokio::test]
    async fn revoked_sessions_refuse_writes() {
        let store = SqliteStore::open_in_memory().unwrap();
        let session = new_session();
        store.create(&session).await.unwrap();
        store.revoke(session.id).await.unwrap();
        store.revoke(session.id).await.unwrap();
        assert!(store.get(session.id).await.unwrap().unwrap().revoked);
        assert!(matches!(
            store
                .write_data(
                    session.id,
                    Version::INITIAL,
                    &data(json!({})),
                    Timestamp::from_unix_millis(2_000)
                )
                .await
                .unwrap(),
            SessionWrite::Conflict
        ));
    }

    #[tokio::test]
    async fn concurrent_writers_on_one_version_have_exactly_one_winner() {
        let store = SqliteStore::open_in_memory().unwrap();
        let session = new_session();
        store.create(&session).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write_data(
                        session.id,
                        Version::INITIAL,
                        &data(json!({ "writer": i })),
                        Timestamp::from_unix_millis(2_000),
                    )
                    .await
                    .unwrap()
            }));
        }
        let mut winners = 0;
        for task in tasks {
            if matches!(task.await.unwrap(), SessionWrite::Written(_)) {
                winners += 1;
            }
        }
        assert_eq!(winners, 1);
        assert_eq!(
            store.get(session.id).await.unwrap().unwrap().version,
            Version::new(2)
        );
    }

    #[tokio::test]
    async fn extend_never_moves_backwards() {
        let store = SqliteStore::open_in_memory().unwrap();
        let session = new_session();
        store.create(&session).await.unwrap();
        store
            .extend(session.id, Timestamp::from_unix_millis(9_000))
            .await
            .unwrap();
        store
            .extend(session.id, Timestamp::from_unix_millis(3_000))
            .await
            .unwrap();
        let stored = store.get(session.id).await.unwrap().unwrap();
        assert_eq!(stored.last_extended_at, Timestamp::from_unix_millis(9_000));
        assert_eq!(stored.version, Version::INITIAL);
    }
}
