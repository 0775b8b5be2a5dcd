use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{TableStore, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{
    Collection, Document, Record, RecordExpectation, RecordId, Timestamp, UserId, Version,
};
use crate::ports::{RecordStore, RecordWrite, StoreError, next_record};

#[derive(Clone, Serialize, Deserialize)]
struct RecordDoc {
    user_id: String,
    collection: String,
    record_id: String,
    document: Value,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl RecordDoc {
    fn of(record: &Record) -> Self {
        Self {
            user_id: record.owner.to_string(),
            collection: record.collection.to_string(),
            record_id: record.id.to_string(),
            document: record.document.as_value().clone(),
            version: record.version.get(),
            created_at: record.created_at.unix_millis(),
            updated_at: record.updated_at.unix_millis(),
        }
    }

    fn record(self) -> Result<Record, StoreError> {
        Ok(Record {
            owner: parse(&self.user_id, "decode record")?,
            collection: parse(&self.collection, "decode record collection")?,
            id: parse(&self.record_id, "decode record id")?,
            document: Document::parse(self.document)
                .map_err(|e| StoreError::new("decode record", e))?,
            version: Version::new(self.version),
            created_at: Timestamp::from_unix_millis(self.created_at),
            updated_at: Timestamp::from_unix_millis(self.updated_at),
        })
    }
}

const PREFIX: &str = "rec_";

fn collection_prefix(collection: &Collection) -> String {
    format!("{PREFIX}{collection}_")
}

/// Record ids are UUIDv7 (time first); inverting every bit makes Table storage's
/// ascending row-key scan list a collection newest first.
fn record_row(collection: &Collection, id: RecordId) -> String {
    format!(
        "{}{:032x}",
        collection_prefix(collection),
        !id.as_uuid().as_u128()
    )
}

#[async_trait]
impl RecordStore for TableStore {
    async fn get_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        self.table
            .get::<RecordDoc>(&user_pk(owner), &record_row(collection, id), "get record")
            .await?
            .map(|stored| stored.value.record())
            .transpose()
    }

    /// A create is an insert; an update replaces on the ETag of the version read.
    async fn put_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
        document: &Document,
        expect: RecordExpectation,
        now: Timestamp,
    ) -> Result<RecordWrite, StoreError> {
        let (pk, rk) = (user_pk(owner), record_row(collection, id));
        let (current, etag) = match expect {
            RecordExpectation::Absent => (None, None),
            RecordExpectation::At(version) => {
                let Some(stored) = self.table.get::<RecordDoc>(&pk, &rk, "read record").await?
                else {
                    return Ok(RecordWrite::Conflict);
                };
                let record = stored.value.record()?;
                if record.version != version {
                    return Ok(RecordWrite::Conflict);
                }
                (Some(record), Some(stored.etag))
            }
        };
        let next = next_record(owner, collection, id, document, current.as_ref(), now);
        let doc = RecordDoc::of(&next);
        let written = match &etag {
            None => self.table.insert(&pk, &rk, &doc, "create record").await?,
            Some(etag) => {
                self.table
                    .replace(&pk, &rk, &doc, etag, "update record")
                    .await?
            }
        };
        Ok(match written {
            Write::Done => RecordWrite::Written(next),
            Write::Conflict => RecordWrite::Conflict,
        })
    }

    async fn list_records(
        &self,
        owner: UserId,
        collection: &Collection,
        limit: usize,
        before: Option<RecordId>,
    ) -> Result<Vec<Record>, StoreError> {
        let after = before.map(|id| record_row(collection, id));
        self.table
            .query::<RecordDoc>(
                &user_pk(owner),
                &collection_prefix(collection),
                after.as_deref(),
                Some(limit),
                "list records",
            )
            .await?
            .into_iter()
            .map(|(_, doc)| doc.record())
            .collect()
    }

    async fn delete_records_of_user(&self, owner: UserId) -> Result<(), StoreError> {
        self.delete_owned(owner, PREFIX, "delete records of user")
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_records_get_smaller_row_keys() {
        let orders = Collection::parse("orders").unwrap();
        let first = RecordId::new_time_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = RecordId::new_time_ordered();
        assert!(record_row(&orders, second) < record_row(&orders, first));
        assert!(record_row(&orders, first).starts_with("rec_orders_"));
    }
}
