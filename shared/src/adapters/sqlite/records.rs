use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::sessions::{version_from_sql, version_to_sql};
use super::{CachedStatements, SqliteStore, parse_column};
use crate::domain::{Collection, Document, Record, RecordExpectation, RecordId, Timestamp, UserId};
use crate::ports::{RecordStore, RecordWrite, StoreError, next_record};

const COLUMNS: &str = "user_id, collection, record_id, document, version, created_at, updated_at";

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    let text: String = row.get(3)?;
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(3, Type::Text, e)
    };
    let value = serde_json::from_str(&text).map_err(|e| bad(Box::new(e)))?;
    Ok(Record {
        owner: parse_column(row.get(0)?, 0)?,
        collection: parse_column(row.get(1)?, 1)?,
        id: parse_column(row.get(2)?, 2)?,
        document: Document::parse(value).map_err(|e| bad(Box::new(e)))?,
        version: version_from_sql(row.get(4)?)?,
        created_at: Timestamp::from_unix_millis(row.get(5)?),
        updated_at: Timestamp::from_unix_millis(row.get(6)?),
    })
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn get_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        let collection = collection.to_string();
        self.read("get record", move |conn| {
            conn.cached_query_row(
                &format!(
                    "SELECT {COLUMNS} FROM records
                      WHERE user_id = ?1 AND collection = ?2 AND record_id = ?3"
                ),
                params![owner.to_string(), collection, id.to_string()],
                record_from_row,
            )
            .optional()
        })
        .await
    }

    async fn put_record(
        &self,
        owner: UserId,
        collection: &Collection,
        id: RecordId,
        document: &Document,
        expect: RecordExpectation,
        now: Timestamp,
    ) -> Result<RecordWrite, StoreError> {
        let (collection, document) = (collection.clone(), document.clone());
        self.call("put record", move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current = tx
                .cached_query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM records
                          WHERE user_id = ?1 AND collection = ?2 AND record_id = ?3"
                    ),
                    params![owner.to_string(), collection.as_str(), id.to_string()],
                    record_from_row,
                )
                .optional()?;
            let holds = match (expect, &current) {
                (RecordExpectation::Absent, None) => true,
                (RecordExpectation::At(version), Some(record)) => record.version == version,
                _ => false,
            };
            if !holds {
                return Ok(RecordWrite::Conflict);
            }
            let next = next_record(owner, &collection, id, &document, current.as_ref(), now);
            tx.cached_execute(
                &format!(
                    "INSERT INTO records ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (user_id, collection, record_id) DO UPDATE SET
                       document = excluded.document, version = excluded.version,
                       updated_at = excluded.updated_at"
                ),
                params![
                    owner.to_string(),
                    collection.as_str(),
                    id.to_string(),
                    next.document.as_value().to_string(),
                    version_to_sql(next.version),
                    next.created_at.unix_millis(),
                    next.updated_at.unix_millis(),
                ],
            )?;
            tx.commit()?;
            Ok(RecordWrite::Written(next))
        })
        .await
    }

    async fn list_records(
        &self,
        owner: UserId,
        collection: &Collection,
        limit: usize,
        before: Option<RecordId>,
    ) -> Result<Vec<Record>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let collection = collection.to_string();
        self.read("list records", move |conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM records
                  WHERE user_id = ?1 AND collection = ?2 AND (?3 IS NULL OR record_id < ?3)
                  ORDER BY record_id DESC LIMIT ?4"
            ))?;
            statement
                .query_map(
                    params![
                        owner.to_string(),
                        collection,
                        before.map(|b| b.to_string()),
                        limit
                    ],
                    record_from_row,
                )?
                .collect()
        })
        .await
    }

    async fn delete_records_of_user(&self, owner: UserId) -> Result<(), StoreError> {
        self.call("delete records of user", move |conn| {
            conn.cached_execute(
                "DELETE FROM records WHERE user_id = ?1",
                [owner.to_string()],
            )
            .map(drop)
        })
        .await
    }
}
