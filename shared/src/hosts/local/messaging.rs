//! The local server's asynchronous edges, on durable queues in the embedded
//! database: what SQS, SNS and Step Functions do on AWS.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::adapters::sqlite::SqliteQueue;
use crate::domain::{Deletion, Event};
use crate::ports::{DeletionWorkflow, EventPublisher, JobMessage, JobQueue, Proceed, StoreError};
use crate::workflow::{DeletionStep, StepMessage};

/// The three local queues: jobs (the worker), events (the notifier) and deletion
/// steps (the workflow engine).
#[derive(Clone)]
pub struct LocalQueues {
    pub jobs: SqliteQueue,
    pub events: SqliteQueue,
    pub steps: SqliteQueue,
}

async fn send(
    queue: &SqliteQueue,
    body: &impl Serialize,
    delay: Duration,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(body).map_err(|e| StoreError::new("encode message", e))?;
    queue.send(body, delay).await
}

impl LocalQueues {
    /// Sends a deletion step to the workflow queue.
    pub async fn send_step(
        &self,
        step: DeletionStep,
        deletion: &StepMessage,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let message = StepMessage {
            step,
            ..deletion.clone()
        };
        send(&self.steps, &message, delay).await
    }
}

#[async_trait]
impl JobQueue for LocalQueues {
    async fn enqueue(&self, message: &JobMessage) -> Result<(), StoreError> {
        send(&self.jobs, message, Duration::ZERO).await
    }
}

#[async_trait]
impl EventPublisher for LocalQueues {
    async fn publish(&self, event: &Event) -> Result<(), StoreError> {
        send(&self.events, event, Duration::ZERO).await
    }
}

fn step_message(deletion: &Deletion) -> StepMessage {
    StepMessage {
        step: DeletionStep::AwaitConfirmation,
        deletion_id: deletion.id,
        user_id: deletion.user_id,
        task_token: None,
    }
}

/// The deletion workflow as queue-chained steps: the confirmation wait is a
/// delayed `MarkExpired` message (a durable timer), and each code step sends the
/// next when it succeeds.
#[async_trait]
impl DeletionWorkflow for LocalQueues {
    async fn start(&self, deletion: &Deletion) -> Result<(), StoreError> {
        let message = step_message(deletion);
        self.send_step(DeletionStep::AwaitConfirmation, &message, Duration::ZERO)
            .await?;
        let window = deletion.created_at.until(deletion.expires_at);
        self.send_step(DeletionStep::MarkExpired, &message, window)
            .await
    }

    async fn proceed(&self, deletion: &Deletion) -> Result<Proceed, StoreError> {
        // The service already moved the record to in_progress while the window was
        // open; the pending MarkExpired finds it so and changes nothing.
        self.send_step(
            DeletionStep::RevokeSessions,
            &step_message(deletion),
            Duration::ZERO,
        )
        .await?;
        Ok(Proceed::Started)
    }
}
