//! The embedded store behind the local server: one SQLite file implementing every
//! port. Conditional writes are single SQL statements or transactions, so their
//! atomicity comes from the database, never from an in-process lock.

mod deletions;
mod idempotency;
mod jobs;
mod notifications;
mod queue;
mod records;
mod refresh_tokens;
mod sessions;
mod throttles;
mod users;

pub use queue::{QueueSettings, ReceivedMessage, SqliteQueue};

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::types::Type;

use crate::ports::StoreError;

const SCHEMA_VERSION: i64 = 5;

/// Each entry takes the schema from its index to the next version.
const MIGRATIONS: [&str; 5] = [
    include_str!("schema.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
];

/// A handle to the database; cheap to clone. SQLite serialises writers anyway, so
/// one connection used from blocking threads is both simple and sufficient here.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and migrates its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn =
            Connection::open(path).map_err(|e| StoreError::new("open sqlite database", e))?;
        Self::init(conn)
    }

    /// A database that lives as long as the value (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn =
            Connection::open_in_memory().map_err(|e| StoreError::new("open sqlite database", e))?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| StoreError::new("configure sqlite", e))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on a blocking thread with the connection.
    async fn call<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::message("sqlite connection mutex poisoned"))?;
            work(&mut guard).map_err(|e| StoreError::new(context, e))
        })
        .await
        .map_err(|e| StoreError::new(context, e))?
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(|e| StoreError::new("read schema version", e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::message(
            "the database was written by a newer Skiff; refusing to open it",
        ));
    }
    let from = usize::try_from(version)
        .map_err(|_| StoreError::message("unknown database schema version"))?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(from) {
        conn.execute_batch(&format!(
            "BEGIN; {migration} PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))
        .map_err(|e| StoreError::new("migrate schema", e))?;
    }
    Ok(())
}

/// Parses a TEXT column, turning a corrupt value into a row error instead of a panic.
fn parse_column<T: FromStr>(value: String, column: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value
        .parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e)))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

#[cfg(test)]
crate::ports::conformance::conformance_tests!(SqliteStore::open_in_memory().unwrap());

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_version(store: &SqliteStore) -> i64 {
        store
            .conn
            .lock()
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn reopening_keeps_data_and_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiff.db");
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(schema_version(&store), SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn a_version_one_database_is_migrated_and_keeps_its_users() {
        use crate::ports::UserStore;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiff.db");
        let v1 = Connection::open(&path).unwrap();
        v1.execute_batch(&format!(
            "{} PRAGMA user_version = 1;
             INSERT INTO users VALUES ('6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b', 'old@example.com', '$argon2id$x', 1);",
            MIGRATIONS[0]
        ))
        .unwrap();
        drop(v1);
        let store = SqliteStore::open(&path).unwrap();
        let email = crate::domain::Email::parse("old@example.com").unwrap();
        let user = store.find_by_email(&email).await.unwrap().unwrap();
        assert!(!user.deleting);
        assert_eq!(schema_version(&store), SCHEMA_VERSION);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiff.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99;")
            .unwrap();
        assert!(SqliteStore::open(&path).is_err());
    }
}
