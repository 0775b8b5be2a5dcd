//! Every store port on one Azure table. Entities are JSON documents (see
//! `table.rs`); every rule that DynamoDB expresses as a condition is here a read,
//! a decision in code and a write `If-Match` the ETag that was read.
//!
//! | entity | PartitionKey | RowKey |
//! | --- | --- | --- |
//! | user | `user_<user_id>` | `user` |
//! | email claim (the user, denormalised) | `email_<sha256(email)>` | `email` |
//! | session | `session_<session_id>` | `session` |
//! | refresh token | `refresh_<sha256>` | `refresh` |
//! | login throttle | `throttle_<scope>_<sha256>` | `throttle` |
//! | idempotency record | `idem_<sha256(scoped key)>` | `idem` |
//! | session / refresh index | `user_<user_id>` | `session_<id>` / `refresh_<sha256>` |
//! | job | `user_<user_id>` | `job_<bitwise-inverted UUIDv7>` (newest first) |
//! | notification | `user_<user_id>` | `notif_<inverted ms>_<id>` (newest first) |
//! | deletion | `user_<user_id>` | `deletion_<deletion_id>` |
//! | app record | `user_<user_id>` | `rec_<collection>_<bitwise-inverted UUIDv7>` (newest first) |
//!
//! Table storage only scans forward, so newest-first lists use inverted row keys.
//! Everything a user owns sits in the user's partition, which the deletion steps
//! query. Table storage has no TTL: expiry is decided in code, as it is on DynamoDB.

mod deletions;
mod idempotency;
mod jobs;
mod notifications;
mod records;
mod refresh_tokens;
mod sessions;
mod throttles;
mod users;

#[cfg(test)]
crate::ports::conformance::conformance_tests!(super::super::test_support::store().await);

use std::fmt::Write as _;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::table::{MAX_OPTIMISTIC_ATTEMPTS, Table, Write};
use crate::domain::UserId;
use crate::ports::StoreError;

/// Cheap to clone; build once per process.
#[derive(Clone)]
pub struct TableStore {
    table: Table,
}

impl TableStore {
    /// Every store port on `table`.
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Read-modify-write on the ETag: `change` gets the stored value and returns
    /// the new one, or `None` to leave it. A lost race reads again.
    async fn modify<T, F>(
        &self,
        pk: &str,
        rk: &str,
        context: &'static str,
        mut change: F,
    ) -> Result<Modified<T>, StoreError>
    where
        T: Serialize + DeserializeOwned + Send + Sync,
        F: FnMut(&T) -> Option<T> + Send,
    {
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let Some(stored) = self.table.get::<T>(pk, rk, context).await? else {
                return Ok(Modified::Missing);
            };
            let Some(next) = change(&stored.value) else {
                return Ok(Modified::Unchanged(stored.value));
            };
            match self
                .table
                .replace(pk, rk, &next, &stored.etag, context)
                .await?
            {
                Write::Done => return Ok(Modified::Changed(next)),
                Write::Conflict => continue,
            }
        }
        Err(StoreError::message("entity too contended"))
    }

    /// Deletes every entity of `user`'s partition whose row key starts with
    /// `prefix`, and returns their row keys. Idempotent: a partial run is finished
    /// by the deletion step's retry.
    async fn delete_owned(
        &self,
        user: UserId,
        prefix: &str,
        context: &'static str,
    ) -> Result<Vec<String>, StoreError> {
        let pk = user_pk(user);
        let rows = self
            .table
            .query::<serde_json::Value>(&pk, prefix, None, None, context)
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for (rk, _) in rows {
            self.table.delete(&pk, &rk, None, context).await?;
            keys.push(rk);
        }
        Ok(keys)
    }
}

/// What `modify` did.
enum Modified<T> {
    Missing,
    Unchanged(T),
    Changed(T),
}

fn user_pk(user: UserId) -> String {
    format!("user_{user}")
}

/// A key part for free text (emails, logins, idempotency keys): fixed length and
/// free of the characters Table keys forbid.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Parses a stored text field; a failure means the entity was not written by us.
fn parse<T: std::str::FromStr>(text: &str, what: &'static str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::message(what))
}
