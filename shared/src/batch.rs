//! Partial batch processing, as Powertools for AWS Lambda gives Python and
//! TypeScript: every record of a batch is handled on its own, at most
//! `concurrency` at a time, and the batch reports only the records that failed.
//! The bound is the processor's, not a batch's: where one environment runs several
//! batches at once (Lambda's `AWS_LAMBDA_MAX_CONCURRENCY`), they share it, so more
//! batches in flight queue their records instead of multiplying the calls a
//! backend must take at once.
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

use std::sync::Arc;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::telemetry::correlation::{self, Correlation};

/// One message of a batch: its id (SQS `messageId`, a queue row id), its parsed
/// body or why the body did not parse, and what it is correlated by.
#[derive(Debug)]
pub struct Record<T> {
    /// The message id the platform reports failures by.
    pub id: String,
    /// The parsed body, or why it did not parse.
    pub body: Result<T, String>,
    /// The correlation the sender stamped on the body, if any: the handler runs
    /// with it, so its log lines and the messages it sends carry it.
    pub correlation: Option<Correlation>,
    /// The X-Ray trace header SQS carried with the message (its `AWSTraceHeader`
    /// attribute), logged with the record.
    pub aws_trace_header: Option<String>,
}

impl<T: DeserializeOwned> Record<T> {
    /// Parses a JSON body and takes its correlation out (see
    /// [`correlation::split`]); a bad body becomes a failure of this record only.
    pub fn json(id: impl Into<String>, body: &str) -> Self {
        let (correlation, body) = correlation::split(body);
        Self {
            id: id.into(),
            body,
            correlation,
            aws_trace_header: None,
        }
    }

    /// The record with SQS's `AWSTraceHeader` attribute.
    pub fn with_aws_trace_header(mut self, header: Option<String>) -> Self {
        self.aws_trace_header = header;
        self
    }
}

/// The span a record is handled in: its message id and correlation, so every line
/// its handler writes carries them.
fn record_span(id: &str, correlation: Option<&Correlation>, trace: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        "record",
        message_id = %id,
        correlation_id = tracing::field::Empty,
        traceparent = tracing::field::Empty,
        aws_trace_header = tracing::field::Empty,
    );
    if let Some(correlation) = correlation {
        correlation.record_on(&span);
    }
    if let Some(trace) = trace {
        span.record("aws_trace_header", trace);
    }
    span
}

/// What happened to a batch: the ids of failed records, in batch order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Ids of the records that failed.
    pub failed: Vec<String>,
    /// How many succeeded.
    pub succeeded: usize,
}

#[derive(Clone, Debug)]
/// Runs batches' records with bounded concurrency, each on its own. Clones share
/// the bound: at most `concurrency` records run at once across every batch that
/// the processor and its clones are handling.
pub struct BatchProcessor {
    concurrency: usize,
    permits: Arc<Semaphore>,
}

impl BatchProcessor {
    /// `concurrency` is clamped to at least 1.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            concurrency,
            permits: Arc::new(Semaphore::new(concurrency)),
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
            let permits = Arc::clone(&self.permits);
            let span = record_span(
                &record.id,
                record.correlation.as_ref(),
                record.aws_trace_header.as_deref(),
            );
            let work = async move {
                let result = match record.body {
                    Ok(body) => {
                        // The semaphore is never closed, so acquiring cannot fail;
                        // if it did, the record would run unbounded, not be lost.
                        let permit = permits.acquire().await.ok();
                        let handled = correlation::scope_if(record.correlation, handler(body))
                            .await
                            .map_err(|e| e.to_string());
                        drop(permit);
                        handled.map_err(|e| ("batch record failed", e))
                    }
                    Err(reason) => Err(("batch record rejected", reason)),
                };
                let ok = match result {
                    Ok(()) => true,
                    Err((what, error)) => {
                        tracing::warn!(%error, "{what}");
                        false
                    }
                };
                (index, record.id, ok)
            };
            work.instrument(span)
        });
        let mut results: Vec<(usize, String, bool)> = futures_util::stream::iter(work)
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.sort_by_key(|(index, ..)| *index);
        let succeeded = results.iter().filter(|(.., ok)| *ok).count();
        crate::telemetry::metric::count_n(
            crate::telemetry::metric::BATCH_ITEM_FAILURES,
            (results.len() - succeeded) as u64,
        );
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batches_in_flight_at_once_share_the_bound() {
        let (running, peak) = (
            std::sync::Arc::new(AtomicUsize::new(0)),
            std::sync::Arc::new(AtomicUsize::new(0)),
        );
        let processor = BatchProcessor::new(3);
        let batches = (0..4).map(|batch| {
            let (processor, running, peak) = (processor.clone(), running.clone(), peak.clone());
            tokio::spawn(async move {
                let records = (0..5).map(|i| Record::json(format!("{batch}-{i}"), "0"));
                processor
                    .process(records, move |_: u32| {
                        let (running, peak) = (running.clone(), peak.clone());
                        async move {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            running.fetch_sub(1, Ordering::SeqCst);
                            Ok::<_, String>(())
                        }
                    })
                    .await
            })
        });
        for batch in batches.collect::<Vec<_>>() {
            assert_eq!(batch.await.unwrap().succeeded, 5);
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn each_record_is_handled_with_the_correlation_its_sender_stamped() {
        use crate::telemetry::correlation::{Correlation, CorrelationId, current, scope};
        // A number is not an object, so nothing is stamped on it: no correlation.
        let bare = crate::telemetry::correlation::stamp(&1).unwrap();
        let object = |id: &'static str| async move {
            let correlation = Correlation::new(CorrelationId::parse(id).unwrap());
            scope(correlation, async {
                crate::telemetry::correlation::stamp(&serde_json::json!({"n": 1}))
            })
            .await
            .unwrap()
        };
        let records = vec![
            Record::json("a", &object("req-a").await),
            Record::json("b", &object("req-b").await),
            Record::json("c", &bare),
        ];
        let seen = std::sync::Mutex::new(Vec::new());
        let outcome = BatchProcessor::new(2)
            .process(records, |_: serde_json::Value| async {
                let id = current().map(|c| c.id.to_string());
                seen.lock().unwrap().push(id);
                Ok::<_, String>(())
            })
            .await;
        assert_eq!(outcome.succeeded, 3);
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(
            seen,
            [None, Some("req-a".to_owned()), Some("req-b".to_owned())]
        );
    }
}
