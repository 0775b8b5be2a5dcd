use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{RefreshTokenHash, Timestamp, UserId};
use crate::ports::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, StoreError};

#[derive(Clone, Serialize, Deserialize)]
struct TokenDoc {
    token_hash: String,
    session_id: String,
    user_id: String,
    issued_at: i64,
    spent_at: Option<i64>,
}

impl TokenDoc {
    fn of(record: &RefreshTokenRecord) -> Self {
        Self {
            token_hash: record.hash.as_str().to_owned(),
            session_id: record.session_id.to_string(),
            user_id: record.user_id.to_string(),
            issued_at: record.issued_at.unix_millis(),
            spent_at: record.spent_at.map(Timestamp::unix_millis),
        }
    }

    fn record(self) -> Result<RefreshTokenRecord, StoreError> {
        Ok(RefreshTokenRecord {
            hash: RefreshTokenHash::from_stored(self.token_hash),
            session_id: parse(&self.session_id, "decode refresh token")?,
            user_id: parse(&self.user_id, "decode refresh token")?,
            issued_at: Timestamp::from_unix_millis(self.issued_at),
            spent_at: self.spent_at.map(Timestamp::from_unix_millis),
        })
    }
}

const ROW: &str = "refresh";
const INDEX_PREFIX: &str = "refresh_";

/// Token hashes are lowercase hex digests: valid key characters as they are.
fn token_pk(hash: &RefreshTokenHash) -> String {
    format!("refresh_{}", hash.as_str())
}

fn index_row(hash: &RefreshTokenHash) -> String {
    format!("{INDEX_PREFIX}{}", hash.as_str())
}

#[derive(Serialize, Deserialize)]
struct Index {}

impl TableStore {
    async fn remove_token(&self, user: UserId, hash: &RefreshTokenHash) -> Result<(), StoreError> {
        self.table
            .delete(&token_pk(hash), ROW, None, "delete refresh token")
            .await?;
        self.table
            .delete(
                &user_pk(user),
                &index_row(hash),
                None,
                "delete refresh token",
            )
            .await
            .map(drop)
    }
}

#[async_trait]
impl RefreshTokenStore for TableStore {
    /// The token and its index entity, written side by side: an index entity
    /// whose token write failed points at nothing and goes with the user's data.
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        let (pk, doc) = (token_pk(&record.hash), TokenDoc::of(record));
        let (owner, index_rk) = (user_pk(record.user_id), index_row(&record.hash));
        let (token, index) = tokio::try_join!(
            self.table.insert(&pk, ROW, &doc, "insert refresh token"),
            self.table
                .insert(&owner, &index_rk, &Index {}, "index refresh token"),
        )?;
        if token == Write::Conflict || index == Write::Conflict {
            return Err(StoreError::message("refresh token already stored"));
        }
        Ok(())
    }

    async fn find(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.table
            .get::<TokenDoc>(&token_pk(hash), ROW, "find refresh token")
            .await?
            .map(|stored| stored.value.record())
            .transpose()
    }

    /// The successor is inserted first (nobody holds it yet), then the old token
    /// is spent on its ETag. The loser of a race deletes its successor again, so
    /// exactly one successor survives; a crash in between leaves an unused token
    /// that nobody was ever given.
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError> {
        self.insert(new).await?;
        let spent = self
            .modify::<TokenDoc, _>(&token_pk(old), ROW, "spend refresh token", |doc| {
                doc.spent_at.is_none().then(|| TokenDoc {
                    spent_at: Some(now.unix_millis()),
                    ..doc.clone()
                })
            })
            .await?;
        match spent {
            Modified::Changed(_) => Ok(RotateOutcome::Rotated),
            Modified::Unchanged(_) | Modified::Missing => {
                self.remove_token(new.user_id, &new.hash).await?;
                Ok(RotateOutcome::AlreadySpent)
            }
        }
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let rows = self
            .table
            .query::<Index>(
                &user_pk(user),
                INDEX_PREFIX,
                None,
                None,
                "list refresh tokens",
            )
            .await?;
        for (rk, _) in rows {
            let hash = RefreshTokenHash::from_stored(rk[INDEX_PREFIX.len()..].to_owned());
            self.remove_token(user, &hash).await?;
        }
        Ok(())
    }
}
