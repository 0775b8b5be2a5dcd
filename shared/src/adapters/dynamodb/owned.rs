//! Items that live in their owner's partition (`pk = USER#<user_id>`): jobs,
//! notifications, deletions, and index items pointing at the user's sessions and
//! refresh tokens. One strongly consistent query finds all of a kind, which the
//! deletion workflow relies on (a GSI would be eventually consistent).

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, key, s};
use super::{DynamoStore, PARTITION_KEY, SORT_KEY};
use crate::domain::UserId;
use crate::ports::StoreError;

pub(super) fn owner_pk(user: UserId) -> String {
    format!("USER#{user}")
}

pub(super) fn owned_key(user: UserId, sort_key: &str) -> Item {
    key(owner_pk(user), sort_key)
}

/// Which items of a partition a query reads.
pub(super) struct OwnedQuery<'a> {
    pub prefix: &'a str,
    pub newest_first: bool,
    pub limit: Option<i32>,
    /// Only sort keys strictly below this one.
    pub below: Option<String>,
}

impl<'a> OwnedQuery<'a> {
    pub fn all(prefix: &'a str) -> Self {
        Self {
            prefix,
            newest_first: false,
            limit: None,
            below: None,
        }
    }
}

impl DynamoStore {
    /// The items of `user` whose sort key starts with the prefix, every page of
    /// them unless a limit is given.
    pub(super) async fn query_owned(
        &self,
        user: UserId,
        query: OwnedQuery<'_>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(self.table())
                .consistent_read(true)
                .scan_index_forward(!query.newest_first)
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_names("#sk", SORT_KEY)
                .expression_attribute_values(":pk", s(owner_pk(user)))
                .set_exclusive_start_key(start.take());
            request = match &query.below {
                // BETWEEN is inclusive: the bound itself is dropped below.
                Some(below) => request
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":lo", s(query.prefix))
                    .expression_attribute_values(":hi", s(below.as_str())),
                None => request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_values(":prefix", s(query.prefix)),
            };
            if let Some(limit) = query.limit {
                request = request.limit(limit.saturating_add(1));
            }
            let output = request
                .send()
                .await
                .map_err(|e| StoreError::new("query owned items", e))?;
            items.extend(output.items.unwrap_or_default().into_iter().filter(|item| {
                match (&query.below, item.get(SORT_KEY)) {
                    (Some(below), Some(AttributeValue::S(sk))) => sk != below,
                    _ => true,
                }
            }));
            let enough = query
                .limit
                .is_some_and(|l| items.len() >= usize::try_from(l).unwrap_or(usize::MAX));
            match output.last_evaluated_key {
                Some(last) if !enough => start = Some(last),
                _ => break,
            }
        }
        if let Some(limit) = query.limit {
            items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        Ok(items)
    }

    /// Deletes items one by one (a deletion step is idempotent, so a partial run
    /// is finished by its retry).
    pub(super) async fn delete_keys(
        &self,
        keys: impl IntoIterator<Item = Item>,
        context: &'static str,
    ) -> Result<(), StoreError> {
        for key in keys {
            self.client
                .delete_item()
                .table_name(self.table())
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| StoreError::new(context, e))?;
        }
        Ok(())
    }
}

/// The primary key of an item read back.
pub(super) fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == PARTITION_KEY || *name == SORT_KEY)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}
