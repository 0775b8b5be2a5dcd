use std::sync::Arc;
use std::time::Duration;

use crate::domain::{
    Deletion, DeletionId, DeletionStatus, Event, EventDetail, MAX_WRONG_CODES, UserId,
};
use crate::error::Error;
use crate::ports::{
    Clock, CreateDeletionError, DeletionStore, DeletionWorkflow, EventPublisher, Proceed,
};
use crate::telemetry::metric;

/// `DELETE /account`, `POST /account/deletion/confirm`, `GET /account/deletion/{id}`.
#[derive(Clone)]
pub struct DeletionService {
    deletions: Arc<dyn DeletionStore>,
    workflow: Arc<dyn DeletionWorkflow>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    window: Duration,
}

impl DeletionService {
    /// Requests in `deletions`, the workflow, the events topic (the code goes out
    /// as an event) and a confirmation window of `window`.
    pub fn new(
        deletions: Arc<dyn DeletionStore>,
        workflow: Arc<dyn DeletionWorkflow>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        window: Duration,
    ) -> Self {
        Self {
            deletions,
            workflow,
            events,
            clock,
            window,
        }
    }

    /// The caller has already re-authenticated. The code is published here, once,
    /// as the `account.deletion_requested` event (standing in for an e-mail): it
    /// never enters a store, a workflow input or a log.
    pub async fn request(&self, user: UserId) -> Result<Deletion, Error> {
        let now = self.clock.now();
        let (deletion, code) = Deletion::request(user, now, self.window);
        match self.deletions.create(&deletion, now).await {
            Ok(()) => {}
            Err(CreateDeletionError::AlreadyPending) => {
                return Err(Error::Conflict(
                    "an account deletion is already awaiting confirmation",
                ));
            }
            Err(CreateDeletionError::Store(e)) => return Err(e.into()),
        }
        let event = Event::new(
            user,
            deletion.created_at,
            EventDetail::AccountDeletionRequested {
                deletion_id: deletion.id,
                code: code.expose().to_owned(),
                expires_at: deletion.expires_at.unix_millis(),
            },
        );
        let started = match self.events.publish(&event).await {
            Ok(()) => self.workflow.start(&deletion).await,
            Err(e) => Err(e),
        };
        if let Err(e) = started {
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
        metric::count(metric::DELETIONS_REQUESTED);
        Ok(deletion)
    }

    /// Confirms with the code; `Ok` means the deletion is under way (a repeat of a
    /// confirmation that went through is `Ok` too).
    pub async fn confirm(&self, user: UserId, id: DeletionId, code: &str) -> Result<(), Error> {
        let deletion = self.deletions.get(user, id).await?.ok_or(Error::NotFound)?;
        let confirmed = Ok(());
        match deletion.status {
            DeletionStatus::Completed | DeletionStatus::Expired => return Err(closed()),
            // A retried confirmation: same answer, nothing new happens.
            DeletionStatus::InProgress if deletion.code_hash.matches(id, code) => return confirmed,
            DeletionStatus::InProgress => return Err(wrong_code()),
            DeletionStatus::AwaitingConfirmation => {}
        }
        if !deletion.code_hash.matches(id, code) {
            // Counted atomically; the fifth ends the request, so six digits cannot
            // be tried one after another.
            self.deletions
                .record_wrong_code(user, id, MAX_WRONG_CODES)
                .await?;
            tracing::info!(deletion_id = %id, "wrong deletion confirmation code");
            return Err(wrong_code());
        }
        if self.clock.now() >= deletion.expires_at {
            return Err(closed());
        }
        let deletion = if self.workflow.needs_task_token() && deletion.task_token.is_none() {
            self.once_the_workflow_waits(user, id).await?
        } else {
            deletion
        };
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
                metric::count(metric::DELETIONS_CONFIRMED);
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

    /// The caller's deletion request.
    pub async fn status(&self, user: UserId, id: DeletionId) -> Result<Deletion, Error> {
        self.deletions.get(user, id).await?.ok_or(Error::NotFound)
    }
}

impl DeletionService {
    /// How long a confirmation waits for the workflow's first step to record its
    /// task token (it is dispatched through a queue; this takes well under a second).
    const TASK_TOKEN_WAIT: Duration = Duration::from_secs(10);

    /// The deletion once the workflow's first step has recorded its task token.
    async fn once_the_workflow_waits(
        &self,
        user: UserId,
        id: DeletionId,
    ) -> Result<Deletion, Error> {
        let deadline = tokio::time::Instant::now() + Self::TASK_TOKEN_WAIT;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let deletion = self.deletions.get(user, id).await?.ok_or(Error::NotFound)?;
            if deletion.task_token.is_some()
                || deletion.status != DeletionStatus::AwaitingConfirmation
            {
                return Ok(deletion);
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(deletion_id = %id, "the deletion workflow has not reached its confirmation step");
                return Err(Error::Overloaded {
                    retry_after: Duration::from_secs(1),
                });
            }
        }
    }
}

fn wrong_code() -> Error {
    Error::Forbidden("the confirmation code is wrong")
}

fn closed() -> Error {
    Error::Conflict("this deletion request has expired or already completed")
}
