use async_trait::async_trait;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::item::{Item, get_opt_time, get_parsed, get_s, get_time, key, n, s, time};
use super::owned::{OwnedQuery, key_of, owned_key};
use super::transactions::{cancellation_code, put_if_absent, transact};
use super::{DynamoStore, SORT_KEY, TTL_ATTRIBUTE, ttl_after};
use crate::domain::{RefreshTokenHash, Timestamp, UserId};
use crate::ports::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, StoreError};

fn token_key(hash: &RefreshTokenHash) -> Item {
    key(format!("REFRESH#{}", hash.as_str()), "REFRESH")
}

fn item_from(record: &RefreshTokenRecord, retention: std::time::Duration) -> Item {
    let mut item = token_key(&record.hash);
    item.insert("token_hash".into(), s(record.hash.as_str()));
    item.insert("session_id".into(), s(record.session_id.to_string()));
    item.insert("user_id".into(), s(record.user_id.to_string()));
    item.insert("issued_at".into(), time(record.issued_at));
    if let Some(spent) = record.spent_at {
        item.insert("spent_at".into(), time(spent));
    }
    item.insert(
        TTL_ATTRIBUTE.into(),
        n(ttl_after(record.issued_at, retention)),
    );
    item
}

fn record_from(item: &Item) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        hash: RefreshTokenHash::from_stored(get_s(item, "token_hash")?.to_owned()),
        session_id: get_parsed(item, "session_id")?,
        user_id: get_parsed(item, "user_id")?,
        issued_at: get_time(item, "issued_at")?,
        spent_at: get_opt_time(item, "spent_at")?,
    })
}

#[async_trait]
impl RefreshTokenStore for DynamoStore {
    /// The token and its index item, written side by side: an index item whose
    /// token write failed points at nothing and is removed with the user's data.
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        tokio::try_join!(
            self.put_new(item_from(record, self.retention), "insert refresh token"),
            self.put_new(index_item(record, self.retention), "index refresh token"),
        )
        .map(drop)
    }

    async fn find(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.read(token_key(hash), "find refresh token")
            .await?
            .as_ref()
            .map(record_from)
            .transpose()
    }

    /// Spending the old token and inserting the new one is one transaction, so a
    /// crash between them can neither lose the session nor mint two successors.
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError> {
        let spend = Update::builder()
            .table_name(self.table())
            .set_key(Some(token_key(old)))
            .update_expression("SET spent_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(spent_at)")
            .expression_attribute_values(":now", time(now))
            .build()
            .map_err(|e| StoreError::new("build rotation", e))?;
        let result = transact(
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(spend).build())
                .transact_items(put_if_absent(self.table(), item_from(new, self.retention))?)
                .transact_items(put_if_absent(
                    self.table(),
                    index_item(new, self.retention),
                )?),
        )
        .await;
        if cancellation_code(&result, 0) == Some("ConditionalCheckFailed") {
            return Ok(RotateOutcome::AlreadySpent);
        }
        match result {
            Ok(_) => Ok(RotateOutcome::Rotated),
            Err(e) => Err(StoreError::new("rotate refresh token", e)),
        }
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let index = self
            .query_owned(user, OwnedQuery::all(INDEX_PREFIX))
            .await?;
        let mut keys = Vec::with_capacity(index.len() * 2);
        for item in &index {
            let hash = get_s(item, SORT_KEY)?
                .strip_prefix(INDEX_PREFIX)
                .ok_or_else(|| StoreError::message("malformed refresh token index item"))?;
            keys.push(token_key(&RefreshTokenHash::from_stored(hash.to_owned())));
            keys.push(key_of(item));
        }
        self.delete_keys(keys, "delete refresh tokens of user")
            .await
    }
}

const INDEX_PREFIX: &str = "REFRESH#";

/// The token's entry in its user's partition: how the deletion workflow finds it.
fn index_item(record: &RefreshTokenRecord, retention: std::time::Duration) -> Item {
    let mut item = owned_key(
        record.user_id,
        &format!("{INDEX_PREFIX}{}", record.hash.as_str()),
    );
    item.insert(
        TTL_ATTRIBUTE.into(),
        n(ttl_after(record.issued_at, retention)),
    );
    item
}
