use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{DeletionId, DeletionStatus, Event, EventDetail, UserId};
use crate::ports::{Clock, EventPublisher, StoreError, Stores};
use crate::telemetry::metric;

/// Who runs a step. On AWS, `Code` steps are dispatched through SQS with a task
/// token to the workflow function (Lambda tasks do not run on moto, and a queue
/// gives the step redelivery for free); `Service` steps are direct Step Functions
/// integrations (DynamoDB, SNS) with no code at all. The local engine runs both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRunner {
    /// Run by the workflow function (SQS with a task token).
    Code,
    /// A Step Functions service integration, no code.
    Service,
}

/// Every step of the deletion workflow, in order. `infra/deletion-workflow.asl.json`
/// has one state per step with the same name, and a test fails if they disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStep {
    /// Waits (with a timeout) for the owner's confirmation; on AWS it records the
    /// task token the confirmation completes. (The request published the code.)
    AwaitConfirmation,
    /// Marks the account as being deleted (no login, no new session from here
    /// on), then revokes every session.
    RevokeSessions,
    /// Deletes sessions, refresh tokens, jobs, notifications and app records.
    DeleteData,
    /// Deletes the account record (the email is free again).
    DeleteUser,
    /// Marks the request completed.
    MarkCompleted,
    /// Publishes `account.deleted`.
    PublishDeleted,
    /// Reached instead when the confirmation window closes.
    MarkExpired,
}

impl DeletionStep {
    /// The happy path, in order; `MarkExpired` is the timeout branch.
    pub const ALL: [DeletionStep; 7] = [
        DeletionStep::AwaitConfirmation,
        DeletionStep::RevokeSessions,
        DeletionStep::DeleteData,
        DeletionStep::DeleteUser,
        DeletionStep::MarkCompleted,
        DeletionStep::PublishDeleted,
        DeletionStep::MarkExpired,
    ];

    /// The state's name in the ASL definition.
    pub fn state_name(self) -> &'static str {
        match self {
            DeletionStep::AwaitConfirmation => "AwaitConfirmation",
            DeletionStep::RevokeSessions => "RevokeSessions",
            DeletionStep::DeleteData => "DeleteData",
            DeletionStep::DeleteUser => "DeleteUser",
            DeletionStep::MarkCompleted => "MarkCompleted",
            DeletionStep::PublishDeleted => "PublishDeleted",
            DeletionStep::MarkExpired => "MarkExpired",
        }
    }

    /// Whether code or a service integration runs it.
    pub fn runner(self) -> StepRunner {
        match self {
            DeletionStep::AwaitConfirmation
            | DeletionStep::RevokeSessions
            | DeletionStep::DeleteData
            | DeletionStep::DeleteUser => StepRunner::Code,
            DeletionStep::MarkCompleted
            | DeletionStep::PublishDeleted
            | DeletionStep::MarkExpired => StepRunner::Service,
        }
    }

    /// The step after this one on success; `None` ends the workflow.
    pub fn next(self) -> Option<DeletionStep> {
        match self {
            DeletionStep::AwaitConfirmation => Some(DeletionStep::RevokeSessions),
            DeletionStep::RevokeSessions => Some(DeletionStep::DeleteData),
            DeletionStep::DeleteData => Some(DeletionStep::DeleteUser),
            DeletionStep::DeleteUser => Some(DeletionStep::MarkCompleted),
            DeletionStep::MarkCompleted => Some(DeletionStep::PublishDeleted),
            DeletionStep::PublishDeleted | DeletionStep::MarkExpired => None,
        }
    }
}

/// A step to run, as the workflow queue carries it (the ASL builds the same JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepMessage {
    /// Which step.
    pub step: DeletionStep,
    /// The request.
    pub deletion_id: DeletionId,
    /// The account.
    pub user_id: UserId,
    /// Step Functions' task token, when Step Functions dispatched the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
/// Why a step failed (it is retried by the workflow).
pub enum StepError {
    #[error(transparent)]
    /// A store failed.
    Store(#[from] StoreError),
    #[error("deletion {0} does not exist")]
    /// The request does not exist.
    UnknownDeletion(DeletionId),
    #[error("deletion {0} was not confirmed: refusing to delete anything")]
    /// A destructive step for a request that is not confirmed.
    NotConfirmed(DeletionId),
    #[error("deletion {0} has not expired yet")]
    /// The expiry step before the window closed.
    NotExpired(DeletionId),
}

/// The code of every step. Each step is idempotent: a retried or redelivered step
/// finds its work done and succeeds again.
#[derive(Clone)]
pub struct DeletionSteps {
    stores: Stores,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl DeletionSteps {
    /// Steps over `stores`, publishing to `events`.
    pub fn new(stores: Stores, events: Arc<dyn EventPublisher>, clock: Arc<dyn Clock>) -> Self {
        Self {
            stores,
            events,
            clock,
        }
    }

    /// The destructive steps run only for a deletion its owner confirmed (or one
    /// already completed, when a step is redelivered). A step message is only ever
    /// sent after the confirmation; this makes a stray or forged one harmless.
    async fn confirmed(&self, message: &StepMessage) -> Result<(), StepError> {
        let deletion = self
            .stores
            .deletions
            .get(message.user_id, message.deletion_id)
            .await?
            .ok_or(StepError::UnknownDeletion(message.deletion_id))?;
        match deletion.status {
            DeletionStatus::InProgress | DeletionStatus::Completed => Ok(()),
            _ => Err(StepError::NotConfirmed(message.deletion_id)),
        }
    }

    /// Runs one step; idempotent, so a redelivery is harmless.
    pub async fn run(&self, message: &StepMessage) -> Result<(), StepError> {
        let (user, id) = (message.user_id, message.deletion_id);
        let s = &self.stores;
        tracing::info!(deletion_id = %id, step = message.step.state_name(), "deletion step");
        match message.step {
            DeletionStep::AwaitConfirmation => {
                // The request itself published the code; this step only records
                // where the confirmation must be sent.
                if s.deletions.get(user, id).await?.is_none() {
                    return Err(StepError::UnknownDeletion(id));
                }
                if let Some(token) = &message.task_token {
                    s.deletions.set_task_token(user, id, token).await?;
                }
            }
            DeletionStep::RevokeSessions => {
                self.confirmed(message).await?;
                s.users.begin_deletion(user).await?;
                for session in s.sessions.list_for_user(user).await? {
                    s.sessions.revoke(session).await?;
                }
            }
            DeletionStep::DeleteData => {
                self.confirmed(message).await?;
                s.sessions.delete_for_user(user).await?;
                s.refresh_tokens.delete_for_user(user).await?;
                s.jobs.delete_for_user(user).await?;
                s.notifications.delete_for_user(user).await?;
                s.records.delete_records_of_user(user).await?;
            }
            DeletionStep::DeleteUser => {
                self.confirmed(message).await?;
                s.users.delete(user).await?;
            }
            DeletionStep::MarkCompleted => {
                let won = s
                    .deletions
                    .transition(
                        user,
                        id,
                        &[DeletionStatus::InProgress],
                        DeletionStatus::Completed,
                    )
                    .await?;
                // A redelivered step finds it done and counts nothing.
                if won {
                    metric::count(metric::DELETIONS_COMPLETED);
                }
            }
            DeletionStep::PublishDeleted => {
                let detail = EventDetail::AccountDeleted { deletion_id: id };
                let event = Event::new(user, self.clock.now(), detail);
                self.events.publish(&event).await?;
            }
            DeletionStep::MarkExpired => {
                let deletion = s
                    .deletions
                    .get(user, id)
                    .await?
                    .ok_or(StepError::UnknownDeletion(id))?;
                if self.clock.now() < deletion.expires_at {
                    // Early (clock skew, or a message nobody should have sent): the
                    // retry comes after the queue's visibility timeout.
                    return Err(StepError::NotExpired(id));
                }
                let won = s
                    .deletions
                    .transition(
                        user,
                        id,
                        &[DeletionStatus::AwaitingConfirmation],
                        DeletionStatus::Expired,
                    )
                    .await?;
                if won {
                    metric::count(metric::DELETIONS_EXPIRED);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_runs_every_step_but_expiry_once() {
        let mut step = DeletionStep::AwaitConfirmation;
        let mut path = vec![step];
        while let Some(next) = step.next() {
            path.push(next);
            step = next;
        }
        let expected: Vec<_> = DeletionStep::ALL
            .into_iter()
            .filter(|s| *s != DeletionStep::MarkExpired)
            .collect();
        assert_eq!(path, expected);
    }

    #[test]
    fn messages_use_snake_case_step_names() {
        let message = StepMessage {
            step: DeletionStep::RevokeSessions,
            deletion_id: DeletionId::new_random(),
            user_id: UserId::new_random(),
            task_token: None,
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["step"], "revoke_sessions");
        assert!(json.get("task_token").is_none());
    }

    #[cfg(feature = "sqlite")]
    mod guarded {
        use std::time::Duration;

        use super::*;
        use crate::adapters::sqlite::SqliteStore;
        use crate::domain::{Deletion, Job, JobInput, JobKind, Timestamp};
        use crate::ports::{SystemClock, conformance};

        struct NoEvents;

        #[async_trait::async_trait]
        impl EventPublisher for NoEvents {
            async fn publish(&self, _: &Event) -> Result<(), StoreError> {
                Ok(())
            }
        }

        #[tokio::test]
        async fn destructive_steps_need_a_confirmed_deletion_and_expiry_its_time() {
            let stores = Stores::from_one(SqliteStore::open_in_memory().unwrap());
            let owner = conformance::user(&conformance::unique_email());
            stores.users.create(&owner).await.unwrap();
            let job = Job::queued(
                owner.id,
                "echo".parse::<JobKind>().unwrap(),
                JobInput::parse(serde_json::json!({})).unwrap(),
                Timestamp::now(),
            );
            stores.jobs.create(&job).await.unwrap();
            let (deletion, _) =
                Deletion::request(owner.id, Timestamp::now(), Duration::from_secs(3600));
            stores
                .deletions
                .create(&deletion, Timestamp::now())
                .await
                .unwrap();
            let steps =
                DeletionSteps::new(stores.clone(), Arc::new(NoEvents), Arc::new(SystemClock));
            let message = |step| StepMessage {
                step,
                deletion_id: deletion.id,
                user_id: owner.id,
                task_token: None,
            };

            for step in [
                DeletionStep::RevokeSessions,
                DeletionStep::DeleteData,
                DeletionStep::DeleteUser,
            ] {
                let refused = steps.run(&message(step)).await.unwrap_err();
                assert!(matches!(refused, StepError::NotConfirmed(_)), "{step:?}");
            }
            assert!(stores.jobs.get(owner.id, job.id).await.unwrap().is_some());
            assert!(stores.users.find_by_id(owner.id).await.unwrap().is_some());
            let early = steps
                .run(&message(DeletionStep::MarkExpired))
                .await
                .unwrap_err();
            assert!(matches!(early, StepError::NotExpired(_)));

            let confirmed = stores
                .deletions
                .transition(
                    owner.id,
                    deletion.id,
                    &[DeletionStatus::AwaitingConfirmation],
                    DeletionStatus::InProgress,
                )
                .await
                .unwrap();
            assert!(confirmed);
            steps.run(&message(DeletionStep::DeleteData)).await.unwrap();
            assert!(stores.jobs.get(owner.id, job.id).await.unwrap().is_none());
        }
    }
}
