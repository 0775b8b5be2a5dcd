use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Collection, Document, Record, RecordExpectation, RecordId, Timestamp, UserId};

/// What a conditional record write did.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordWrite {
    /// Stored; the record as it now is.
    Written(Record),
    /// The expectation did not hold (the record exists, or moved on, or is gone):
    /// nothing was written.
    Conflict,
}

/// An app's own documents, per owner and collection, in the store the host uses.
/// Every record lives with its owner's other data, so the account-deletion
/// workflow erases it with everything else.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The record if `owner` has it: another user's record is simply not found.
    async fn get_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError>;

    /// Writes `document` if `expect` holds: a create keeps `now` as `created_at`
    /// and starts at version 1; an update keeps `created_at` and adds one.
    async fn put_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
        document: &Document,
        expect: RecordExpectation,
        now: Timestamp,
    ) -> Result<RecordWrite, StoreError>;

    /// Newest first (by id); with `before`, only records older than that one.
    async fn list_records(
        &self,
        owner: UserId,
        collection: &Collection,
        limit: usize,
        before: Option<RecordId>,
    ) -> Result<Vec<Record>, StoreError>;

    /// Erases every record of `owner`, in every collection. Idempotent.
    async fn delete_records_of_user(&self, owner: UserId) -> Result<(), StoreError>;
}

/// The record a write makes: what the stores share about versions and times.
pub fn next_record(
    owner: UserId,
    collection: &Collection,
    id: RecordId,
    document: &Document,
    current: Option<&Record>,
    now: Timestamp,
) -> Record {
    Record {
        owner,
        collection: collection.clone(),
        id,
        document: document.clone(),
        version: current.map_or(crate::domain::Version::INITIAL, |r| r.version.next()),
        created_at: current.map_or(now, |r| r.created_at),
        updated_at: now,
    }
}
