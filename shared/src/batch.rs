//! Partial batch processing, as Powertools for AWS Lambda gives Python and
//! TypeScript: every record of a batch is handled on its own, at most
//! `concurrency` at a time, and the batch reports only the records that failed.
//! With SQS's `ReportBatchItemFailures` (or any queue that redelivers what was not
//! deleted) the failures come back later and the successes are never redone.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use skiff::batch::{BatchProcessor, Record};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { id: u32 }
//!
//! let records = vec![
//!     Record::json("m-1", r#"{"id": 1}"#),
//!     Record::json("m-2", "not json"),           // a poison message: reported, never panics
//!     Record::json("m-3", r#"{"id": 13}"#),
//! ];
//! let outcome = BatchProcessor::new(4)
//!     .process(records, |order: Order| async move {
//!         if order.id == 13 { Err("unlucky") } else { Ok(()) }
//!     })
//!     .await;
//! assert_eq!(outcome.failed, ["m-2", "m-3"]);
//! # });
//! ```

use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// One message of a batch: its id (SQS `messageId`, a queue row id) and its parsed
/// body, or why the body did not parse.
#[derive(Debug)]
pub struct Record<T> {
    /// The message id the platform reports failures by.
    pub id: String,
    /// The parsed body, or why it did not parse.
    pub body: Result<T, String>,
}

impl<T: DeserializeOwned> Record<T> {
    /// Parses a JSON body; a bad body becomes a failure of this record only.
    pub fn json(id: impl Into<String>, body: &str) -> Self {
        Self {
            id: id.into(),
            body: serde_json::from_str(body).map_err(|e| format!("malformed message body: {e}")),
        }
    }
}

/// What happened to a batch: the ids of failed records, in batch order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Ids of the records that failed.
    pub failed: Vec<String>,
    /// How many succeeded.
    pub succeeded: usize,
}

#[derive(Clone, Copy, Debug)]
/// Runs a batch's records with bounded concurrency, each on its own.
pub struct BatchProcessor {
    concurrency: usize,
}

impl BatchProcessor {
    /// `concurrency` is clamped to at least 1.
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
        }
    }

    /// Handles every record and reports the failures. A handler error is logged
    /// with the record id (never the body: it may hold user data).
    pub async fn process<T, E, F, Fut>(
        &self,
        records: impl IntoIterator<Item = Record<T>>,
        handler: F,
    ) -> BatchOutcome
    where
        E: std::fmt::Display,
        F: Fn(T) -> Fut + Clone,
        Fut: Future<Output = Result<(), E>>,
    {
        // Each record's future owns what it uses (no borrow of `handler` or of the
        // iterator), so a batch can run inside a spawned task.
        let work = records.into_iter().enumerate().map(|(index, record)| {
            let handler = handler.clone();
            async move {
                let ok = match record.body {
                    Ok(body) => match handler(body).await {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::warn!(message_id = %record.id, error = %e, "batch record failed");
                            false
                        }
                    },
                    Err(reason) => {
                        tracing::warn!(message_id = %record.id, error = %reason, "batch record rejected");
                        false
                    }
                };
                (index, record.id, ok)
            }
        });
        let mut results: Vec<(usize, String, bool)> = futures_util::stream::iter(work)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.sort_by_key(|(index, ..)| *index);
        let succeeded = results.iter().filter(|(.., ok)| *ok).count();
        BatchOutcome {
            failed: results
                .into_iter()
                .filter(|(.., ok)| !ok)
                .map(|(_, id, _)| id)
                .collect(),
            succeeded,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn reports_only_failures_in_batch_order() {
        let records = vec![
            Record::json("a", "1"),
            Record::json("b", "{"),
            Record::json("c", "3"),
            Record::json("d", "4"),
        ];
        let outcome = BatchProcessor::new(2)
            .process(records, |n: u32| async move {
                if n == 3 { Err("three") } else { Ok(()) }
            })
            .await;
        assert_eq!(outcome.failed, ["b", "c"]);
        assert_eq!(outcome.succeeded, 2);
    }

    #[tokio::test]
    async fn never_runs_more_than_the_concurrency_at_once() {
        let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let records = (0..10).map(|i| Record::json(i.to_string(), "0"));
        let outcome = BatchProcessor::new(3)
            .process(records, |_: u32| async {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, String>(())
            })
            .await;
        assert_eq!(outcome.succeeded, 10);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
