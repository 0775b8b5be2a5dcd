//! DynamoDB single-table store for the AWS hosts. Every uniqueness and version rule
//! is a condition expression (or a transaction), so atomicity comes from DynamoDB.
//!
//! | item | `pk` | `sk` | notes |
//! | --- | --- | --- | --- |
//! | user | `USER#<user_id>` | `USER` | email and password_hash, or issuer, subject and verified_email?; created_at, deleting? |
//! | email claim | `EMAIL#<email>` | `EMAIL` | the user, denormalised: login is one read |
//! | identity claim | `IDENTITY#<sha256 of iss and sub>` | `IDENTITY` | the federated user, denormalised |
//! | session | `SESSION#<session_id>` | `SESSION` | data, version, timestamps, revoked, `ttl` |
//! | refresh token | `REFRESH#<sha256>` | `REFRESH` | session_id, user_id, issued_at, spent_at?, `ttl` |
//! | login throttle | `THROTTLE#<scope>_<sha256>` | `THROTTLE` | state (JSON), rev, `ttl` |
//! | session index | `USER#<user_id>` | `SESSION#<session_id>` | `ttl`; written with the session |
//! | refresh index | `USER#<user_id>` | `REFRESH#<sha256>` | `ttl`; written with the token |
//! | job | `USER#<user_id>` | `JOB#<job_id (UUIDv7)>` | kind, input, status, result?, error?, attempts, times |
//! | notification | `USER#<user_id>` | `NOTIF#<ms, 15 digits>#<id>` | the event |
//! | deletion | `USER#<user_id>` | `DELETION#<deletion_id>` | status, code, times, task_token? |
//! | idempotency | `IDEMPOTENCY#<scoped key>` | `IDEMPOTENCY` | fingerprint, response?, locked_until, expires_at, `ttl` |
//!
//! Everything a user owns sits in the user's partition, so the deletion workflow
//! finds all of it with strongly consistent queries (no GSI, which would lag).
//!
//! `ttl` (epoch seconds) lets DynamoDB delete dead items eventually; expiry is always
//! checked in code too, because DynamoDB serves expired items for up to ~2 days.

mod deletions;
mod idempotency;
mod item;
mod jobs;
mod notifications;
mod owned;
mod records;
mod refresh_tokens;
mod sessions;
mod throttles;
mod transactions;
mod users;

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
crate::ports::conformance::conformance_tests!(test_support::store().await);

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;

use crate::ports::StoreError;

/// Cheap to clone; build once per process (at Lambda init) and share.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: Arc<str>,
    retention: Duration,
}

impl DynamoStore {
    /// `retention` is how long after their last change session and refresh-token
    /// items must be kept: the session's absolute lifetime is the natural choice.
    pub fn new(client: Client, table: impl Into<Arc<str>>, retention: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            retention,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Puts an item that must not exist yet (ids are random; a clash is a bug or a
    /// retried request, and either way must not overwrite).
    async fn put_new(&self, item: item::Item, context: &'static str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new(context, e))
    }

    /// A strongly consistent read of one item: every decision the core makes on a
    /// read (versions, spent tokens, lockouts) needs the latest write.
    async fn read(
        &self,
        key: item::Item,
        context: &'static str,
    ) -> Result<Option<item::Item>, StoreError> {
        self.client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|e| StoreError::new(context, e))
    }
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    e.as_service_error().and_then(|se| se.code()) == Some("ConditionalCheckFailedException")
}

/// Attribute names of the table's primary key.
pub const PARTITION_KEY: &str = "pk";
/// The sort key attribute.
pub const SORT_KEY: &str = "sk";
/// The attribute to enable DynamoDB TTL on.
pub const TTL_ATTRIBUTE: &str = "ttl";

/// Retries for optimistic read-modify-write loops before giving up with a 503.
const MAX_OPTIMISTIC_ATTEMPTS: usize = 16;

/// A TTL a day past `retention` from `from`: never earlier than code would still
/// need the item.
fn ttl_after(from: crate::domain::Timestamp, retention: Duration) -> i64 {
    from.saturating_add(retention)
        .saturating_add(Duration::from_secs(86_400))
        .unix_seconds()
}
