use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{ConfirmationCode, Deletion, DeletionId, DeletionStatus, Timestamp, UserId};
use crate::ports::{DeletionStore, StoreError};

#[derive(Clone, Serialize, Deserialize)]
struct DeletionDoc {
    deletion_id: String,
    user_id: String,
    status: String,
    code: String,
    created_at: i64,
    expires_at: i64,
    task_token: Option<String>,
}

impl DeletionDoc {
    fn deletion(self) -> Result<Deletion, StoreError> {
        Ok(Deletion {
            id: parse(&self.deletion_id, "decode deletion")?,
            user_id: parse(&self.user_id, "decode deletion")?,
            status: parse(&self.status, "decode deletion status")?,
            code: ConfirmationCode::from_stored(self.code),
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
    async fn create(&self, deletion: &Deletion) -> Result<(), StoreError> {
        let doc = DeletionDoc {
            deletion_id: deletion.id.to_string(),
            user_id: deletion.user_id.to_string(),
            status: deletion.status.as_str().to_owned(),
            code: deletion.code.as_str().to_owned(),
            created_at: deletion.created_at.unix_millis(),
            expires_at: deletion.expires_at.unix_millis(),
            task_token: deletion.task_token.clone(),
        };
        let pk = user_pk(deletion.user_id);
        match self
            .table
            .insert(&pk, &deletion_row(deletion.id), &doc, "create deletion")
            .await?
        {
            Write::Done => Ok(()),
            Write::Conflict => Err(StoreError::message("deletion id already taken")),
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
