use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::item::{Item, get_bool, get_parsed, get_s, get_time, key, n, s, time};
use super::owned::{OwnedQuery, owned_key};
use super::{DynamoStore, SORT_KEY, TTL_ATTRIBUTE, is_condition_failure, ttl_after};
use crate::domain::{Session, SessionData, SessionId, Timestamp, UserId, Version};
use crate::ports::stored_session_data;
use crate::ports::{CreateSessionError, SessionStore, SessionWrite, StoreError};

fn session_key(id: SessionId) -> Item {
    key(format!("SESSION#{id}"), "SESSION")
}

fn session_from(item: &Item) -> Result<Session, StoreError> {
    let data = stored_session_data(get_s(item, "data")?)?;
    Ok(Session {
        id: get_parsed(item, "session_id")?,
        user_id: get_parsed(item, "user_id")?,
        data,
        version: Version::new(get_parsed(item, "version")?),
        created_at: get_time(item, "created_at")?,
        last_extended_at: get_time(item, "last_extended_at")?,
        revoked: get_bool(item, "revoked")?,
    })
}

#[async_trait]
impl SessionStore for DynamoStore {
    /// Writes the session and its index item, then reads the user (strongly
    /// consistent) and revokes the new session if the user is gone or being
    /// deleted. Write-then-check closes the race with the deletion workflow without
    /// a transaction: the workflow marks the user before it lists the index, so
    /// either this read sees the mark, or the listing sees this index item.
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError> {
        let ttl = n(ttl_after(session.created_at, self.retention));
        let mut item = session_key(session.id);
        item.insert("session_id".into(), s(session.id.to_string()));
        item.insert("user_id".into(), s(session.user_id.to_string()));
        item.insert("data".into(), s(session.data.to_json_string()));
        item.insert("version".into(), n(session.version.get()));
        item.insert("created_at".into(), time(session.created_at));
        item.insert("last_extended_at".into(), time(session.last_extended_at));
        item.insert("revoked".into(), AttributeValue::Bool(session.revoked));
        // The absolute lifetime bounds a session's life, so its TTL is fixed at creation.
        item.insert(TTL_ATTRIBUTE.into(), ttl.clone());
        let mut index = owned_key(session.user_id, &index_sort_key(session.id));
        index.insert(TTL_ATTRIBUTE.into(), ttl);
        tokio::try_join!(
            self.put_new(item, "create session"),
            self.put_new(index, "index session"),
        )?;
        let owner = self
            .read(owned_key(session.user_id, "USER"), "check session owner")
            .await?;
        let live = owner
            .is_some_and(|user| !matches!(user.get("deleting"), Some(AttributeValue::Bool(true))));
        if live {
            return Ok(());
        }
        self.revoke(session.id).await?;
        Err(CreateSessionError::UserUnavailable)
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read(session_key(id), "get session")
            .await?
            .as_ref()
            .map(session_from)
            .transpose()
    }

    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(session_key(id)))
            .update_expression(
                "SET #data = :data, version = version + :one, last_extended_at = :now",
            )
            .condition_expression("version = :expected AND revoked = :false")
            .expression_attribute_names("#data", "data")
            .expression_attribute_values(":data", s(data.to_json_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":expected", n(expected.get()))
            .expression_attribute_values(
                ":false",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false),
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output
                    .attributes
                    .ok_or_else(|| StoreError::message("update returned no attributes"))?;
                session_from(&item).map(SessionWrite::Written)
            }
            // A missing item fails the condition too: both are "not this version".
            Err(e) if is_condition_failure(&e) => Ok(SessionWrite::Conflict),
            Err(e) => Err(StoreError::new("write session data", e)),
        }
    }

    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(session_key(id)))
            .update_expression("SET last_extended_at = :now")
            .condition_expression("attribute_exists(pk) AND last_extended_at < :now")
            .expression_attribute_values(":now", time(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone, or already extended further: nothing to do.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::new("extend session", e)),
        }
    }

    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(session_key(id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":true",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::new("revoke session", e)),
        }
    }

    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        self.query_owned(user, OwnedQuery::all(INDEX_PREFIX))
            .await?
            .iter()
            .map(|item| {
                get_s(item, SORT_KEY)?
                    .strip_prefix(INDEX_PREFIX)
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| StoreError::message("malformed session index item"))
            })
            .collect()
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let ids = self.list_for_user(user).await?;
        let keys: Vec<Item> = ids
            .iter()
            .flat_map(|id| [session_key(*id), owned_key(user, &index_sort_key(*id))])
            .collect();
        self.delete_keys(keys, "delete sessions of user").await
    }
}

const INDEX_PREFIX: &str = "SESSION#";

fn index_sort_key(id: SessionId) -> String {
    format!("{INDEX_PREFIX}{id}")
}
