use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{Session, SessionData, SessionId, Timestamp, UserId, Version};
use crate::ports::{CreateSessionError, SessionStore, SessionWrite, StoreError, UserStore};

#[derive(Clone, Serialize, Deserialize)]
struct SessionDoc {
    session_id: String,
    user_id: String,
    data: serde_json::Value,
    version: u64,
    created_at: i64,
    last_extended_at: i64,
    revoked: bool,
}

impl SessionDoc {
    fn of(session: &Session) -> Self {
        Self {
            session_id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            data: serde_json::Value::Object(session.data.as_map().clone()),
            version: session.version.get(),
            created_at: session.created_at.unix_millis(),
            last_extended_at: session.last_extended_at.unix_millis(),
            revoked: session.revoked,
        }
    }

    fn session(self) -> Result<Session, StoreError> {
        Ok(Session {
            id: parse(&self.session_id, "decode session")?,
            user_id: parse(&self.user_id, "decode session")?,
            data: SessionData::parse(self.data)
                .map_err(|e| StoreError::new("decode session data", e))?,
            version: Version::new(self.version),
            created_at: Timestamp::from_unix_millis(self.created_at),
            last_extended_at: Timestamp::from_unix_millis(self.last_extended_at),
            revoked: self.revoked,
        })
    }
}

const ROW: &str = "session";
const INDEX_PREFIX: &str = "session_";

fn session_pk(id: SessionId) -> String {
    format!("session_{id}")
}

fn index_row(id: SessionId) -> String {
    format!("{INDEX_PREFIX}{id}")
}

/// The index entity carries nothing but its keys.
#[derive(Serialize, Deserialize)]
struct Index {}

#[async_trait]
impl SessionStore for TableStore {
    /// Writes the session and its index entity, then reads the user and revokes
    /// the new session if the user is gone or being deleted. The deletion workflow
    /// marks the user before it lists the index, so either this read sees the
    /// mark, or the listing sees this index entity (as on DynamoDB).
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError> {
        let (pk, doc) = (session_pk(session.id), SessionDoc::of(session));
        let (owner, index) = (user_pk(session.user_id), index_row(session.id));
        let (created, indexed) = tokio::try_join!(
            self.table.insert(&pk, ROW, &doc, "create session"),
            self.table
                .insert(&owner, &index, &Index {}, "index session"),
        )?;
        if created == Write::Conflict || indexed == Write::Conflict {
            return Err(StoreError::message("session id already taken").into());
        }
        let live = UserStore::find_by_id(self, session.user_id)
            .await?
            .is_some_and(|user| !user.deleting);
        if live {
            return Ok(());
        }
        self.revoke(session.id).await?;
        Err(CreateSessionError::UserUnavailable)
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.table
            .get::<SessionDoc>(&session_pk(id), ROW, "get session")
            .await?
            .map(|stored| stored.value.session())
            .transpose()
    }

    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError> {
        let written = self
            .modify::<SessionDoc, _>(&session_pk(id), ROW, "write session data", |doc| {
                (doc.version == expected.get() && !doc.revoked).then(|| SessionDoc {
                    data: serde_json::Value::Object(data.as_map().clone()),
                    version: doc.version + 1,
                    last_extended_at: now.unix_millis(),
                    ..doc.clone()
                })
            })
            .await?;
        match written {
            Modified::Changed(doc) => doc.session().map(SessionWrite::Written),
            // Missing, another version, or revoked: all "not this version".
            Modified::Missing | Modified::Unchanged(_) => Ok(SessionWrite::Conflict),
        }
    }

    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError> {
        self.modify::<SessionDoc, _>(&session_pk(id), ROW, "extend session", |doc| {
            (doc.last_extended_at < now.unix_millis()).then(|| SessionDoc {
                last_extended_at: now.unix_millis(),
                ..doc.clone()
            })
        })
        .await
        .map(drop)
    }

    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        self.modify::<SessionDoc, _>(&session_pk(id), ROW, "revoke session", |doc| {
            (!doc.revoked).then(|| SessionDoc {
                revoked: true,
                ..doc.clone()
            })
        })
        .await
        .map(drop)
    }

    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        self.table
            .query::<Index>(&user_pk(user), INDEX_PREFIX, None, None, "list sessions")
            .await?
            .iter()
            .map(|(rk, _)| parse(&rk[INDEX_PREFIX.len()..], "malformed session index"))
            .collect()
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        for id in self.list_for_user(user).await? {
            self.table
                .delete(&session_pk(id), ROW, None, "delete sessions of user")
                .await?;
            self.table
                .delete(
                    &user_pk(user),
                    &index_row(id),
                    None,
                    "delete sessions of user",
                )
                .await?;
        }
        Ok(())
    }
}
