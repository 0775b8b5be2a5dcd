use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::item::{Item, get_parsed, get_s, get_time, n, s, time};
use super::owned::{OwnedQuery, key_of, owned_key};
use super::{DynamoStore, is_condition_failure};
use crate::domain::{
    Collection, Document, Record, RecordExpectation, RecordId, Timestamp, UserId, Version,
};
use crate::ports::{RecordStore, RecordWrite, StoreError, next_record};

const PREFIX: &str = "REC#";

/// `REC#<collection>#<id>` in the owner's partition: ids are UUIDv7, so the sort
/// key orders a collection by creation, and `REC#` finds every record of the user.
fn collection_prefix(collection: &Collection) -> String {
    format!("{PREFIX}{collection}#")
}

fn record_key(owner: UserId, collection: &Collection, id: RecordId) -> Item {
    owned_key(owner, &format!("{}{id}", collection_prefix(collection)))
}

fn record_from(item: &Item) -> Result<Record, StoreError> {
    let value = serde_json::from_str(get_s(item, "document")?)
        .map_err(|e| StoreError::new("decode record", e))?;
    Ok(Record {
        owner: get_parsed(item, "user_id")?,
        collection: get_parsed(item, "collection")?,
        id: get_parsed(item, "record_id")?,
        document: Document::parse(value).map_err(|e| StoreError::new("decode record", e))?,
        version: Version::new(get_parsed(item, "version")?),
        created_at: get_time(item, "created_at")?,
        updated_at: get_time(item, "updated_at")?,
    })
}

fn record_item(record: &Record) -> Item {
    let mut item = record_key(record.owner, &record.collection, record.id);
    item.insert("user_id".into(), s(record.owner.to_string()));
    item.insert("collection".into(), s(record.collection.as_str()));
    item.insert("record_id".into(), s(record.id.to_string()));
    item.insert("document".into(), s(record.document.as_value().to_string()));
    item.insert("version".into(), n(record.version.get()));
    item.insert("created_at".into(), time(record.created_at));
    item.insert("updated_at".into(), time(record.updated_at));
    item
}

#[async_trait]
impl RecordStore for DynamoStore {
    async fn get_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        self.read(record_key(owner, collection, id), "get record")
            .await?
            .as_ref()
            .map(record_from)
            .transpose()
    }

    /// A create is a put on `attribute_not_exists`; an update sets the document
    /// on the version read and returns the record, so `created_at` stays.
    async fn put_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
        document: &Document,
        expect: RecordExpectation,
        now: Timestamp,
    ) -> Result<RecordWrite, StoreError> {
        match expect {
            RecordExpectation::Absent => {
                let record = next_record(owner, collection, id, document, None, now);
                let put = self
                    .client
                    .put_item()
                    .table_name(self.table())
                    .set_item(Some(record_item(&record)))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await;
                match put {
                    Ok(_) => Ok(RecordWrite::Written(record)),
                    Err(e) if is_condition_failure(&e) => Ok(RecordWrite::Conflict),
                    Err(e) => Err(StoreError::new("create record", e)),
                }
            }
            RecordExpectation::At(version) => {
                let update = self
                    .client
                    .update_item()
                    .table_name(self.table())
                    .set_key(Some(record_key(owner, collection, id)))
                    .update_expression("SET #doc = :doc, #v = :next, updated_at = :now")
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#doc", "document")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":doc", s(document.as_value().to_string()))
                    .expression_attribute_values(":next", n(version.next().get()))
                    .expression_attribute_values(":now", time(now))
                    .expression_attribute_values(":v", n(version.get()))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await;
                match update {
                    Ok(output) => output
                        .attributes
                        .as_ref()
                        .map(record_from)
                        .transpose()?
                        .map(RecordWrite::Written)
                        .ok_or_else(|| StoreError::message("update record returned nothing")),
                    Err(e) if is_condition_failure(&e) => Ok(RecordWrite::Conflict),
                    Err(e) => Err(StoreError::new("update record", e)),
                }
            }
        }
    }

    async fn list_records(
        &self,
        owner: UserId,
        collection: &Collection,
        limit: usize,
        before: Option<RecordId>,
    ) -> Result<Vec<Record>, StoreError> {
        let prefix = collection_prefix(collection);
        let query = OwnedQuery {
            prefix: &prefix,
            newest_first: true,
            limit: Some(i32::try_from(limit).unwrap_or(i32::MAX)),
            below: before.map(|id| format!("{prefix}{id}")),
        };
        self.query_owned(owner, query)
            .await?
            .iter()
            .map(record_from)
            .collect()
    }

    async fn delete_records_of_user(&self, owner: UserId) -> Result<(), StoreError> {
        let items = self.query_owned(owner, OwnedQuery::all(PREFIX)).await?;
        self.delete_keys(items.iter().map(key_of), "delete records of user")
            .await
    }
}
