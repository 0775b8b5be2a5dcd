use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, parse, user_pk};
use crate::adapters::azure::table::{MAX_OPTIMISTIC_ATTEMPTS, Write};
use crate::domain::{CodeHash, Deletion, DeletionId, DeletionStatus, Timestamp, UserId};
use crate::ports::{CreateDeletionError, DeletionStore, StoreError};

#[derive(Clone, Serialize, Deserialize)]
struct DeletionDoc {
    deletion_id: String,
    user_id: String,
    status: String,
    /// Requests written before codes were hashed have none: they never match.
    #[serde(default)]
    code_hash: String,
    #[serde(default)]
    wrong_codes: u32,
    created_at: i64,
    expires_at: i64,
    task_token: Option<String>,
}

/// Which request of the user may still be pending (row `deletion_pending` in the
/// user's partition).
#[derive(Clone, Serialize, Deserialize)]
struct PendingDoc {
    deletion_id: String,
}

const PENDING_ROW: &str = "deletion_pending";

impl DeletionDoc {
    fn deletion(self) -> Result<Deletion, StoreError> {
        Ok(Deletion {
            id: parse(&self.deletion_id, "decode deletion")?,
            user_id: parse(&self.user_id, "decode deletion")?,
            status: parse(&self.status, "decode deletion status")?,
            code_hash: CodeHash::from_stored(self.code_hash),
            wrong_codes: self.wrong_codes,
            created_at: Timestamp::from_unix_millis(self.created_at),
            expires_at: Timestamp::from_unix_millis(self.expires_at),
            task_token: self.task_token,
        })
    }
}

fn deletion_row(id: DeletionId) -> String {
    format!("deletion_{id}")
}

#[async_trait]
impl DeletionStore for TableStore {
    /// The user's pending marker is claimed first (inserted, or replaced on the
    /// ETag it was read with), and only a marker whose request is no longer pending
    /// may be taken over; two concurrent requests cannot both win it. A marker left
    /// naming a request that was never written blocks nothing.
    async fn create(&self, deletion: &Deletion, now: Timestamp) -> Result<(), CreateDeletionError> {
        let pk = user_pk(deletion.user_id);
        let marker = PendingDoc {
            deletion_id: deletion.id.to_string(),
        };
        let mut claimed = false;
        for _ in 0..MAX_OPTIMISTIC_ATTEMPTS {
            let seen = self
                .table
                .get::<PendingDoc>(&pk, PENDING_ROW, "read pending deletion")
                .await?;
            if let Some(stored) = &seen {
                let id: DeletionId = parse(&stored.value.deletion_id, "decode pending deletion")?;
                if self
                    .get(deletion.user_id, id)
                    .await?
                    .is_some_and(|d| d.is_pending(now))
                {
                    return Err(CreateDeletionError::AlreadyPending);
                }
            }
            let written = match &seen {
                None => {
                    self.table
                        .insert(&pk, PENDING_ROW, &marker, "claim pending deletion")
                        .await?
                }
                Some(stored) => {
                    self.table
                        .replace(
                            &pk,
                            PENDING_ROW,
                            &marker,
                            &stored.etag,
                            "claim pending deletion",
                        )
                        .await?
                }
            };
            if written == Write::Done {
                claimed = true;
                break;
            }
        }
        if !claimed {
            return Err(CreateDeletionError::AlreadyPending);
        }
        let doc = DeletionDoc {
            deletion_id: deletion.id.to_string(),
            user_id: deletion.user_id.to_string(),
            status: deletion.status.as_str().to_owned(),
            code_hash: deletion.code_hash.as_str().to_owned(),
            wrong_codes: deletion.wrong_codes,
            created_at: deletion.created_at.unix_millis(),
            expires_at: deletion.expires_at.unix_millis(),
            task_token: deletion.task_token.clone(),
        };
        match self
            .table
            .insert(&pk, &deletion_row(deletion.id), &doc, "create deletion")
            .await?
        {
            Write::Done => Ok(()),
            Write::Conflict => Err(StoreError::message("deletion id already taken").into()),
        }
    }

    async fn get(&self, user: UserId, id: DeletionId) -> Result<Option<Deletion>, StoreError> {
        self.table
            .get::<DeletionDoc>(&user_pk(user), &deletion_row(id), "get deletion")
            .await?
            .map(|stored| stored.value.deletion())
            .transpose()
    }

    async fn transition(
        &self,
        user: UserId,
        id: DeletionId,
        from: &[DeletionStatus],
        to: DeletionStatus,
    ) -> Result<bool, StoreError> {
        let moved = self
            .modify::<DeletionDoc, _>(
                &user_pk(user),
                &deletion_row(id),
                "update deletion",
                |doc| {
                    from.iter()
                        .any(|status| status.as_str() == doc.status)
                        .then(|| DeletionDoc {
                            status: to.as_str().to_owned(),
                            ..doc.clone()
                        })
                },
            )
            .await?;
        Ok(matches!(moved, Modified::Changed(_)))
    }

    async fn record_wrong_code(
        &self,
        user: UserId,
        id: DeletionId,
        max: u32,
    ) -> Result<(), StoreError> {
        let awaiting = DeletionStatus::AwaitingConfirmation.as_str();
        self.modify::<DeletionDoc, _>(
            &user_pk(user),
            &deletion_row(id),
            "count a wrong deletion code",
            |doc| {
                (doc.status == awaiting).then(|| {
                    let wrong_codes = doc.wrong_codes.saturating_add(1);
                    DeletionDoc {
                        wrong_codes,
                        status: if wrong_codes >= max {
                            DeletionStatus::Expired.as_str().to_owned()
                        } else {
                            doc.status.clone()
                        },
                        ..doc.clone()
                    }
                })
            },
        )
        .await
        .map(drop)
    }

    async fn set_task_token(
        &self,
        user: UserId,
        id: DeletionId,
        token: &str,
    ) -> Result<(), StoreError> {
        let set = self
            .modify::<DeletionDoc, _>(
                &user_pk(user),
                &deletion_row(id),
                "set deletion task token",
                |doc| {
                    Some(DeletionDoc {
                        task_token: Some(token.to_owned()),
                        ..doc.clone()
                    })
                },
            )
            .await?;
        match set {
            Modified::Missing => Err(StoreError::message("no such deletion")),
            Modified::Changed(_) | Modified::Unchanged(_) => Ok(()),
        }
    }
}
