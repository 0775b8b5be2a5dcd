use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::{CachedStatements, SqliteStore, parse_column};
use crate::domain::{Session, SessionData, SessionId, Timestamp, UserId, Version};
use crate::ports::{CreateSessionError, SessionStore, SessionWrite, StoreError};

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
pub(super) fn version_to_sql(version: Version) -> i64 {
    i64::try_from(version.get()).unwrap_or(i64::MAX)
}

pub(super) fn version_from_sql(value: i64) -> rusqlite::Result<Version> {
    u64::try_from(value)
        .map(Version::new)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Integer, Box::new(e)))
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError> {
        let s = session.clone();
        // One statement: the row is inserted only while its user exists and is not
        // being deleted, so a login racing a deletion cannot leave a session behind.
        let inserted = self
            .call("insert session", move |conn| {
                conn.cached_execute(
                    &format!(
                        "INSERT INTO sessions ({COLUMNS})
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                      WHERE EXISTS (SELECT 1 FROM users WHERE user_id = ?2 AND deleting = 0)"
                    ),
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
            })
            .await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(CreateSessionError::UserUnavailable)
        }
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read("get session", move |conn| {
            conn.cached_query_row(
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
                conn.cached_query_row(
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
            conn.cached_execute(
                "UPDATE sessions SET last_extended_at = MAX(last_extended_at, ?1) WHERE session_id = ?2",
                params![now.unix_millis(), id.to_string()],
            )
            .map(drop)
        })
        .await
    }

    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        self.call("revoke session", move |conn| {
            conn.cached_execute(
                "UPDATE sessions SET revoked = 1 WHERE session_id = ?1",
                [id.to_string()],
            )
            .map(drop)
        })
        .await
    }

    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        self.read("list sessions of user", move |conn| {
            let mut statement =
                conn.prepare_cached("SELECT session_id FROM sessions WHERE user_id = ?1")?;
            statement
                .query_map([user.to_string()], |row| parse_column(row.get(0)?, 0))?
                .collect()
        })
        .await
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.call("delete sessions of user", move |conn| {
            conn.cached_execute(
                "DELETE FROM sessions WHERE user_id = ?1",
                [user.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
