use async_trait::async_trait;
use serde_json::Value;

use super::StoreError;
use crate::domain::Timestamp;

/// A claimed idempotency key: who holds it, with what payload, and what it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct IdempotencyRecord {
    /// The scoped key (`jobs:<user>:<Idempotency-Key>`)
    pub key: String,
    /// A hash of the request payload: the same key with another payload is refused.
    pub fingerprint: String,
    /// `None` while the first request is still in flight.
    pub response: Option<Value>,
    /// An in-flight claim older than this may be taken over (its holder died).
    pub locked_until: Timestamp,
    /// After this the key may be used afresh.
    pub expires_at: Timestamp,
}

/// The outcome of [`IdempotencyStore::claim`].
#[derive(Debug)]
pub enum Claim {
    /// The key was free (or its record expired, or its holder died): go ahead.
    Acquired,
    /// The key is held by a live record.
    Existing(IdempotencyRecord),
}

/// Storage for the idempotency utility (`crate::idempotency`). Every method is a
/// single conditional write, so two requests with one key never both proceed.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Takes the key for this request, or says who has it.
    async fn claim(&self, record: &IdempotencyRecord, now: Timestamp) -> Result<Claim, StoreError>;
    /// Stores the answer to replay for the key.
    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError>;
    /// Frees an in-flight claim whose work failed, so a retry can proceed.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
}
