//! Idempotent operations, as Powertools for AWS Lambda gives Python and TypeScript:
//! the first call with a key does the work and stores its response; a repeat with
//! the same payload gets the stored response without doing the work again; a repeat
//! with a different payload is refused. Storage is any [`IdempotencyStore`]
//! (SQLite, DynamoDB).
//!
//! ```no_run
//! # use skiff::idempotency::{Idempotency, IdempotencyError};
//! # async fn charge(id: &str) -> Result<serde_json::Value, std::io::Error> { todo!() }
//! # async fn example(idempotency: Idempotency) {
//! let payload = serde_json::json!({"order": 42, "amount": 10});
//! let receipt = idempotency
//!     .run("charge:order-42", &payload, || charge("order-42"))
//!     .await;
//! match receipt {
//!     Ok(response) => { /* first run or a replay: the same response */ }
//!     Err(IdempotencyError::PayloadMismatch) => { /* same key, other payload */ }
//!     Err(IdempotencyError::InProgress) => { /* the first call is still running */ }
//!     Err(IdempotencyError::Store(_) | IdempotencyError::Work(_)) => { /* retry later */ }
//! }
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ports::{Claim, Clock, IdempotencyRecord, IdempotencyStore, StoreError};

#[derive(Debug, thiserror::Error)]
/// Why an idempotent run did not produce an answer.
pub enum IdempotencyError<E> {
    #[error("the idempotency key was used with a different payload")]
    /// The key was used with another payload.
    PayloadMismatch,
    #[error("a request with this idempotency key is still in progress")]
    /// Another request holds the key.
    InProgress,
    #[error(transparent)]
    /// The store failed.
    Store(StoreError),
    #[error(transparent)]
    /// The work itself failed (the key is freed).
    Work(E),
}

/// Cheap to clone; build once per process.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    /// How long a completed response is replayed.
    expires_after: Duration,
    /// How long an in-flight claim blocks others before it counts as abandoned.
    lock_for: Duration,
}

impl Idempotency {
    /// Records in `store`, timed by `clock`.
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            expires_after: Duration::from_secs(24 * 3600),
            lock_for: Duration::from_secs(60),
        }
    }

    /// How long an answer is replayed (default 24 h).
    pub fn expires_after(mut self, duration: Duration) -> Self {
        self.expires_after = duration;
        self
    }

    /// How long an in-flight claim holds the key before another request may take
    /// it over (the holder is presumed dead; default 60 s).
    pub fn lock_for(mut self, duration: Duration) -> Self {
        self.lock_for = duration;
        self
    }

    /// Runs `work` at most once per `key` and payload. A failed `work` frees the key,
    /// so the caller's retry runs it again.
    pub async fn run<T, E, F, Fut>(
        &self,
        key: &str,
        payload: &impl Serialize,
        work: F,
    ) -> Result<T, IdempotencyError<E>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let now = self.clock.now();
        let record = IdempotencyRecord {
            key: key.to_owned(),
            fingerprint: fingerprint(payload),
            response: None,
            locked_until: now.saturating_add(self.lock_for),
            expires_at: now.saturating_add(self.expires_after),
        };
        match self
            .store
            .claim(&record, now)
            .await
            .map_err(IdempotencyError::Store)?
        {
            Claim::Existing(existing) if existing.fingerprint != record.fingerprint => {
                Err(IdempotencyError::PayloadMismatch)
            }
            Claim::Existing(IdempotencyRecord {
                response: Some(response),
                ..
            }) => serde_json::from_value(response).map_err(|e| {
                IdempotencyError::Store(StoreError::new("decode stored idempotent response", e))
            }),
            Claim::Existing(_) => Err(IdempotencyError::InProgress),
            Claim::Acquired => match work().await {
                Ok(value) => {
                    let response = serde_json::to_value(&value).map_err(|e| {
                        IdempotencyError::Store(StoreError::new("encode idempotent response", e))
                    })?;
                    self.store
                        .complete(key, &response)
                        .await
                        .map_err(IdempotencyError::Store)?;
                    Ok(value)
                }
                Err(e) => {
                    if let Err(release) = self.store.release(key).await {
                        tracing::warn!(error = %release, "could not release an idempotency key; it frees itself when its lock expires");
                    }
                    Err(IdempotencyError::Work(e))
                }
            },
        }
    }
}

/// SHA-256 of the payload's JSON. serde_json's maps are sorted, so key order in the
/// client's body does not change the fingerprint.
fn fingerprint(payload: &impl Serialize) -> String {
    let json = serde_json::to_value(payload)
        .unwrap_or(Value::Null)
        .to_string();
    Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "sqlite")]
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    #[cfg(feature = "sqlite")]
    use crate::ports::SystemClock;

    #[cfg(feature = "sqlite")]
    fn idempotency() -> Idempotency {
        let store = crate::adapters::sqlite::SqliteStore::open_in_memory().unwrap();
        Idempotency::new(Arc::new(store), Arc::new(SystemClock))
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"a": 1})));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn runs_once_replays_and_refuses_other_payloads() {
        let idempotency = idempotency();
        let runs = AtomicUsize::new(0);
        let work =
            || async { Ok::<_, std::io::Error>(json!({"n": runs.fetch_add(1, Ordering::SeqCst)})) };
        let first = idempotency.run("k", &json!({"x": 1}), work).await.unwrap();
        let again: Value = idempotency.run("k", &json!({"x": 1}), work).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let other = idempotency.run("k", &json!({"x": 2}), work).await;
        assert!(matches!(other, Err(IdempotencyError::PayloadMismatch)));
        let fresh: Value = idempotency.run("k2", &json!({"x": 2}), work).await.unwrap();
        assert_eq!(fresh, json!({"n": 1}));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_failed_run_frees_the_key() {
        let idempotency = idempotency();
        let failed: Result<Value, _> = idempotency
            .run("k", &json!(1), || async {
                Err(std::io::Error::other("boom"))
            })
            .await;
        assert!(matches!(failed, Err(IdempotencyError::Work(_))));
        let retried: Value = idempotency
            .run("k", &json!(1), || async {
                Ok::<_, std::io::Error>(json!("ok"))
            })
            .await
            .unwrap();
        assert_eq!(retried, json!("ok"));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn an_in_flight_claim_blocks_a_concurrent_duplicate() {
        let idempotency = idempotency();
        let (started, release) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
        let payload = json!(1);
        let slow = idempotency.run("k", &payload, || async {
            started.notify_one();
            release.notified().await;
            Ok::<_, std::io::Error>(json!("first"))
        });
        let duplicate = async {
            started.notified().await;
            let result: Result<Value, _> = idempotency
                .run("k", &json!(1), || async {
                    Ok::<_, std::io::Error>(json!("second"))
                })
                .await;
            release.notify_one();
            result
        };
        let (first, second) = tokio::join!(slow, duplicate);
        assert_eq!(first.unwrap(), json!("first"));
        assert!(matches!(second, Err(IdempotencyError::InProgress)));
    }
}
