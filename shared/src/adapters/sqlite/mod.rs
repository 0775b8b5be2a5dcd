//! The embedded store behind the local server: one SQLite file implementing every
//! port. Conditional writes are single SQL statements or transactions, so their
//! atomicity comes from the database, never from an in-process lock.

mod deletions;
mod idempotency;
mod jobs;
mod notifications;
mod queue;
mod readers;
mod records;
mod refresh_tokens;
mod sessions;
mod throttles;
mod users;

pub use queue::{QueueSettings, ReceivedMessage, SqliteQueue};

use readers::Readers;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags, Params, Row};

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

/// A handle to the database; cheap to clone.
///
/// SQLite serialises writers, so every write goes through one connection. In WAL
/// mode readers need not wait for it, though: each read runs on one of a few
/// read-only connections of its own, so a `GET /session` is not queued behind a
/// write or behind other reads. The pool is this module's reader threads rather than
/// r2d2_sqlite or deadpool-sqlite because those crates pin older rusqlite releases
/// than the one this workspace uses, and a fixed set of connections needs nothing
/// more.
#[derive(Clone)]
pub struct SqliteStore {
    connections: Arc<Connections>,
}

struct Connections {
    writer: Mutex<Connection>,
    /// `None` for an in-memory database, whose data no second connection can see:
    /// reads then use the writer.
    readers: Option<Readers>,
}

/// Readers per core: a read holds its connection only while SQLite copies rows out
/// of the page cache, so one per core keeps the cores busy, and the fewer readers
/// there are, the more often a reader finds its next read already queued.
const READERS_PER_CORE: usize = 1;
const MAX_READERS: usize = 8;

impl SqliteStore {
    /// Opens (or creates) the database at `path`, migrates its schema and opens its
    /// readers.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer =
            Connection::open(path).map_err(|e| StoreError::new("open sqlite database", e))?;
        configure(&writer)?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| StoreError::new("configure sqlite", e))?;
        migrate(&writer)?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let readers = Readers::open(path, (cores * READERS_PER_CORE).clamp(2, MAX_READERS))?;
        Ok(Self::with(writer, Some(readers)))
    }

    /// A database that lives as long as the value (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let writer =
            Connection::open_in_memory().map_err(|e| StoreError::new("open sqlite database", e))?;
        configure(&writer)?;
        migrate(&writer)?;
        Ok(Self::with(writer, None))
    }

    fn with(writer: Connection, readers: Option<Readers>) -> Self {
        Self {
            connections: Arc::new(Connections {
                writer: Mutex::new(writer),
                readers,
            }),
        }
    }

    /// Runs `work` on a blocking thread with the writer: every statement that
    /// changes data, and every read that must see the same snapshot as a write.
    async fn call<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connections = Arc::clone(&self.connections);
        tokio::task::spawn_blocking(move || {
            let mut guard = connections.writer.lock().map_err(|_| poisoned())?;
            work(&mut guard).map_err(failed(context))
        })
        .await
        .map_err(|e| StoreError::new(context, e))?
    }

    /// Runs the read-only `work` on a reader. It sees every write committed before
    /// it starts, as a read on the writer would.
    async fn read<T: Send + 'static>(
        &self,
        context: &'static str,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        match &self.connections.readers {
            // A reader that stopped (a read panicked) is reported as the
            // operation that failed, as a failed statement is.
            Some(readers) => readers
                .run(work)
                .await
                .map_err(|e| StoreError::new(context, e))?
                .map_err(failed(context)),
            None => self.call(context, move |conn| work(conn)).await,
        }
    }
}

/// A statement that failed (the adapters turn the expected failures, such as a
/// unique key taken, into answers inside `work`, so what reaches here is an error).
fn failed(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| {
        crate::telemetry::metric::backend_error("sqlite");
        StoreError::new(context, e)
    }
}

fn poisoned() -> StoreError {
    StoreError::message("a sqlite connection's mutex is poisoned")
}

/// What every connection needs: waits for a lock instead of failing at once, and
/// keeps every statement the adapters run prepared.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::new("configure sqlite", e))
}

/// More than the adapters' distinct statements (about fifty, the writer runs them
/// all), so none is parsed twice on one connection.
const STATEMENT_CACHE_CAPACITY: usize = 96;

/// `query_row` and `execute` through the connection's statement cache. Parsing
/// and planning a statement costs more than running the one-row reads and writes
/// these adapters make (a `GET /session` under load spent more CPU in SQLite's
/// parser than in its query), so each SQL text is prepared once per connection.
trait CachedStatements {
    fn cached_query_row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;

    fn cached_execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
}

impl CachedStatements for Connection {
    fn cached_query_row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, row)
    }

    fn cached_execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }
}

const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A read-only connection to the migrated database at `path`.
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::new("open sqlite reader", e))?;
    configure(&reader)?;
    Ok(reader)
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

/// The same suite on a database file, where reads go to the readers: each test's
/// directory lives until the end of the statement that runs it.
#[cfg(test)]
mod on_a_file {
    use super::*;

    fn file_store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (
            SqliteStore::open(&dir.path().join("skiff.db")).unwrap(),
            dir,
        )
    }

    crate::ports::conformance::conformance_tests!(file_store().0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_version(store: &SqliteStore) -> i64 {
        store
            .connections
            .writer
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

    #[tokio::test]
    async fn reads_do_not_wait_for_the_writer() {
        use crate::ports::UserStore;

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skiff.db")).unwrap();
        let user = crate::ports::conformance::user("reader@example.com");
        let email = crate::domain::Email::parse("reader@example.com").unwrap();
        store.create(&user).await.unwrap();

        // A long write holds the writer; a read must still be answered (from the
        // snapshot before that write) rather than queue behind it.
        let writer = Arc::clone(&store.connections);
        let (held, hold) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let _guard = writer.writer.lock().unwrap();
            locked.send(()).unwrap();
            hold.recv().unwrap();
        });
        is_locked.recv().unwrap();
        let found = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            store.find_by_email(&email),
        )
        .await
        .expect("the read waited for the writer");
        assert_eq!(found.unwrap().map(|u| u.id), Some(user.id));
        held.send(()).unwrap();
        holder.join().unwrap();
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
