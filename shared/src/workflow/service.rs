use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::domain::{Deletion, DeletionId, DeletionStatus, UserId};
use crate::error::Error;
use crate::ports::{Clock, DeletionStore, DeletionWorkflow, Proceed};

/// `DELETE /account`, `POST /account/deletion/confirm`, `GET /account/deletion/{id}`.
#[derive(Clone)]
pub struct DeletionService {
    deletions: Arc<dyn DeletionStore>,
    workflow: Arc<dyn DeletionWorkflow>,
    clock: Arc<dyn Clock>,
    window: Duration,
}

impl DeletionService {
    pub fn new(
        deletions: Arc<dyn DeletionStore>,
        workflow: Arc<dyn DeletionWorkflow>,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Self {
        Self {
            deletions,
            workflow,
            clock,
            window,
        }
    }

    pub async fn request(&self, user: UserId) -> Result<Value, Error> {
        let deletion = Deletion::request(user, self.clock.now(), self.window);
        self.deletions.create(&deletion).await?;
        if let Err(e) = self.workflow.start(&deletion).await {
            // Without a workflow nothing will ever happen to this request: close it.
            let _ = self
                .deletions
                .transition(
                    user,
                    deletion.id,
                    &[DeletionStatus::AwaitingConfirmation],
                    DeletionStatus::Expired,
                )
                .await;
            return Err(e.into());
        }
        tracing::info!(deletion_id = %deletion.id, "account deletion requested");
        Ok(json!({
            "deletion_id": deletion.id,
            "status": deletion.status,
            "expires_at": deletion.expires_at,
        }))
    }

    pub async fn confirm(&self, user: UserId, id: &str, code: &str) -> Result<Value, Error> {
        let id: DeletionId = id.parse().map_err(|_| Error::NotFound)?;
        let deletion = self.deletions.get(user, id).await?.ok_or(Error::NotFound)?;
        if !deletion.code.matches(code) {
            tracing::info!(deletion_id = %id, "wrong deletion confirmation code");
            return Err(Error::Forbidden("the confirmation code is wrong"));
        }
        let confirmed = Ok(json!({"status": "confirmed"}));
        match deletion.status {
            // A retried confirmation: same answer, nothing new happens.
            DeletionStatus::InProgress => return confirmed,
            DeletionStatus::Completed | DeletionStatus::Expired => return Err(closed()),
            DeletionStatus::AwaitingConfirmation => {}
        }
        if self.clock.now() >= deletion.expires_at {
            return Err(closed());
        }
        let won = self
            .deletions
            .transition(
                user,
                id,
                &[DeletionStatus::AwaitingConfirmation],
                DeletionStatus::InProgress,
            )
            .await?;
        if !won {
            // Expired (or confirmed) a moment ago: answer from the new state.
            let now = self.deletions.get(user, id).await?.ok_or(Error::NotFound)?;
            return match now.status {
                DeletionStatus::InProgress => confirmed,
                _ => Err(closed()),
            };
        }
        let proceeded = match self.workflow.proceed(&deletion).await {
            Ok(proceeded) => proceeded,
            Err(e) => {
                // Hand the request back, so the client's retry confirms it again.
                let _ = self
                    .deletions
                    .transition(
                        user,
                        id,
                        &[DeletionStatus::InProgress],
                        DeletionStatus::AwaitingConfirmation,
                    )
                    .await;
                return Err(e.into());
            }
        };
        match proceeded {
            Proceed::Started => {
                tracing::info!(deletion_id = %id, "account deletion confirmed");
                confirmed
            }
            Proceed::TooLate => {
                self.deletions
                    .transition(
                        user,
                        id,
                        &[DeletionStatus::InProgress],
                        DeletionStatus::Expired,
                    )
                    .await?;
                Err(closed())
            }
        }
    }

    pub async fn status(&self, user: UserId, id: &str) -> Result<Value, Error> {
        let id: DeletionId = id.parse().map_err(|_| Error::NotFound)?;
        let deletion = self.deletions.get(user, id).await?.ok_or(Error::NotFound)?;
        Ok(json!({"deletion_id": deletion.id, "status": deletion.status}))
    }
}

fn closed() -> Error {
    Error::Conflict("this deletion request has expired or already completed")
}
