use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::open_reader;
use crate::ports::StoreError;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// The read-only connections, each owned by a thread of its own that runs the
/// reads sent to it, in order.
///
/// Handing every read to tokio's blocking pool cost more CPU than the read itself
/// under load: each `spawn_blocking` woke a pool thread and contended on the pool's
/// lock. A reader thread with work queued takes the next read without sleeping,
/// so a busy server pays for a wake-up only when a reader has gone idle.
pub(super) struct Readers {
    queues: Vec<mpsc::Sender<ReadJob>>,
    /// Which reader gets the next read: they take turns.
    next: AtomicUsize,
}

impl Readers {
    /// `count` readers of the migrated database at `path`. The threads end when
    /// the store (the last sender) is dropped.
    pub(super) fn open(path: &Path, count: usize) -> Result<Self, StoreError> {
        let mut queues = Vec::with_capacity(count);
        for index in 0..count {
            let connection = open_reader(path)?;
            let (sender, jobs) = mpsc::channel::<ReadJob>();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{index}"))
                .spawn(move || {
                    for job in jobs {
                        // A read that panics loses its answer (its caller gets an
                        // error), not the reader: the next read still runs.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&connection)));
                    }
                })
                .map_err(|e| StoreError::new("start sqlite reader", e))?;
            queues.push(sender);
        }
        Ok(Self {
            queues,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `work` on the next reader and waits for its answer without blocking
    /// the async runtime.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = oneshot::channel();
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        self.queues[index]
            .send(Box::new(move |connection: &Connection| {
                // The caller may have gone (a dropped request): nobody to tell.
                let _ = answer.send(work(connection));
            }))
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())
    }
}

fn stopped() -> StoreError {
    StoreError::message("a sqlite reader stopped")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers(count: usize) -> (Readers, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skiff.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (7);",
            )
            .unwrap();
        (Readers::open(&path, count).unwrap(), dir)
    }

    fn read_n(connection: &Connection) -> i64 {
        connection
            .query_row("SELECT n FROM t", [], |row| row.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn a_read_that_panics_fails_alone() {
        let (readers, _dir) = readers(1);
        let panicked = readers.run(|_: &Connection| -> i64 { panic!("a broken read") });
        assert!(panicked.await.is_err());
        assert_eq!(
            readers.run(read_n).await.unwrap(),
            7,
            "the reader still runs"
        );
    }

    #[tokio::test]
    async fn reads_at_once_are_all_answered() {
        let (readers, _dir) = readers(2);
        let readers = std::sync::Arc::new(readers);
        let reads: Vec<_> = (0..64)
            .map(|_| {
                let readers = std::sync::Arc::clone(&readers);
                tokio::spawn(async move { readers.run(read_n).await.unwrap() })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.unwrap(), 7);
        }
    }

    /// A reader is read-only: a write through it is refused by SQLite.
    #[tokio::test]
    async fn readers_cannot_write() {
        let (readers, _dir) = readers(1);
        let write = readers.run(|c: &Connection| c.execute("INSERT INTO t VALUES (8)", []));
        assert!(write.await.unwrap().is_err());
    }
}
