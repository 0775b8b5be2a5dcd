use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Modified, TableStore, digest};
use crate::adapters::azure::table::{MAX_OPTIMISTIC_ATTEMPTS, Write};
use crate::domain::Timestamp;
use crate::ports::{Claim, IdempotencyRecord, IdempotencyStore, StoreError};

#[derive(Clone, Serialize, Deserialize)]
struct RecordDoc {
    fingerprint: String,
    response: Option<Value>,
    locked_until: i64,
    expires_at: i64,
}

impl RecordDoc {
    fn of(record: &IdempotencyRecord) -> Self {
        Self {
            fingerprint: record.fingerprint.clone(),
            response: record.response.clone(),
            locked_until: record.locked_until.unix_millis(),
            expires_at: record.expires_at.unix_millis(),
        }
    }

    fn record(self, key: &str) -> IdempotencyRecord {
        IdempotencyRecord {
            key: key.to_owned(),
            fingerprint: self.fingerprint,
            response: self.response,
            locked_until: Timestamp::from_unix_millis(self.locked_until),
            expires_at: Timestamp::from_unix_millis(self.expires_at),
        }
    }

    /// Free to claim: expired, or abandoned by a holder that never completed.
    fn claimable(&self, now: Timestamp) -> bool {
        let now = now.unix_millis();
        self.expires_at <= now || (self.response.is_none() && self.locked_until <= now)
    }
}

const ROW: &str = "idem";

fn record_pk(key: &str) -> String {
    format!("idem_{}", digest(key))
}

#[async_trait]
impl IdempotencyStore for TableStore {
    /// Insert-only first; if a record exists, it is taken over on its ETag only
    /// when it is expired or its holder's lock ran out.
    async fn claim(&self, record: &IdempotencyRecord, now: Timestamp) -> Result<Claim, StoreError> {
        let pk = record_pk(&record.key);
        let doc = RecordDoc::of(record);
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            if self
                .table
                .insert(&pk, ROW, &doc, "claim idempotency key")
                .await?
                == Write::Done
            {
                return Ok(Claim::Acquired);
            }
            let Some(held) = self
                .table
                .get::<RecordDoc>(&pk, ROW, "read idempotency record")
                .await?
            else {
                continue;
            };
            if !held.value.claimable(now) {
                return Ok(Claim::Existing(held.value.record(&record.key)));
            }
            let taken = self
                .table
                .replace(&pk, ROW, &doc, &held.etag, "claim idempotency key")
                .await?;
            if taken == Write::Done {
                return Ok(Claim::Acquired);
            }
        }
        Err(StoreError::message("idempotency key too contended"))
    }

    async fn complete(&self, key: &str, response: &Value) -> Result<(), StoreError> {
        let done = self
            .modify::<RecordDoc, _>(&record_pk(key), ROW, "complete idempotency key", |doc| {
                Some(RecordDoc {
                    response: Some(response.clone()),
                    ..doc.clone()
                })
            })
            .await?;
        match done {
            Modified::Missing => Err(StoreError::message("idempotency record vanished")),
            Modified::Changed(_) | Modified::Unchanged(_) => Ok(()),
        }
    }

    /// Drops a claim that never completed, so the key can be retried at once.
    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let pk = record_pk(key);
        let Some(held) = self
            .table
            .get::<RecordDoc>(&pk, ROW, "read idempotency record")
            .await?
        else {
            return Ok(());
        };
        if held.value.response.is_none() {
            // A conflict means it was completed or taken over meanwhile: keep it.
            self.table
                .delete(&pk, ROW, Some(&held.etag), "release idempotency key")
                .await?;
        }
        Ok(())
    }
}
