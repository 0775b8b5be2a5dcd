//! The asynchronous edges on plain queues, for hosts without SNS or Step
//! Functions (the local server, Azure): jobs and events are queue messages, and
//! the deletion workflow is a chain of step messages, each step sending the next
//! when it succeeds. The confirmation wait is a delayed `MarkExpired` message (a
//! durable timer); retries are the queue's redeliveries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{Deletion, Event};
use crate::ports::{
    DeletionWorkflow, EventPublisher, JobMessage, JobQueue, Messaging, Proceed, StoreError,
};
use crate::workflow::{DeletionStep, DeletionSteps, StepMessage};

/// Somewhere a message can be sent: a queue, or an output binding.
#[async_trait]
pub trait MessageSink: Send + Sync {
    /// Sends `body`, to be delivered after `delay`.
    async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError>;
}

/// Where jobs, events and deletion steps go.
#[derive(Clone)]
pub struct ChainedQueues {
    /// Where jobs are sent.
    pub jobs: Arc<dyn MessageSink>,
    /// Where events are sent.
    pub events: Arc<dyn MessageSink>,
    /// Where deletion steps are sent.
    pub steps: Arc<dyn MessageSink>,
}

async fn send(
    sink: &dyn MessageSink,
    body: &impl Serialize,
    delay: Duration,
) -> Result<(), StoreError> {
    let body = crate::telemetry::correlation::stamp(body)
        .map_err(|e| StoreError::new("encode message", e))?;
    sink.send(body, delay).await
}

fn step_message(deletion: &Deletion) -> StepMessage {
    StepMessage {
        step: DeletionStep::AwaitConfirmation,
        deletion_id: deletion.id,
        user_id: deletion.user_id,
        task_token: None,
    }
}

impl ChainedQueues {
    /// Sends `step` of the deletion that `deletion` describes.
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
        send(self.steps.as_ref(), &message, delay).await
    }

    /// The same queues as the core's ports.
    pub fn messaging(self) -> Messaging {
        let shared = Arc::new(self);
        Messaging {
            jobs: shared.clone(),
            events: shared.clone(),
            workflow: shared,
        }
    }
}

#[async_trait]
impl JobQueue for ChainedQueues {
    async fn enqueue(&self, message: &JobMessage) -> Result<(), StoreError> {
        send(self.jobs.as_ref(), message, Duration::ZERO).await
    }
}

#[async_trait]
impl EventPublisher for ChainedQueues {
    async fn publish(&self, event: &Event) -> Result<(), StoreError> {
        send(self.events.as_ref(), event, Duration::ZERO).await
    }
}

#[async_trait]
impl DeletionWorkflow for ChainedQueues {
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

/// Runs a step, then sends the next one. The confirmation step's successor is
/// sent by the confirmation, and expiry ends the workflow.
pub async fn run_step(
    steps: &DeletionSteps,
    engine: &ChainedQueues,
    message: StepMessage,
) -> Result<(), String> {
    steps.run(&message).await.map_err(|e| e.to_string())?;
    let waits = matches!(
        message.step,
        DeletionStep::AwaitConfirmation | DeletionStep::MarkExpired
    );
    if let (false, Some(next)) = (waits, message.step.next()) {
        engine
            .send_step(next, &message, Duration::ZERO)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
