//! The asynchronous edges of the core: a queue for jobs, a topic for events and
//! the account-deletion workflow. SQS, SNS and Step Functions on AWS; a durable
//! SQLite queue and in-process consumers locally.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{Deletion, Event, JobId, UserId};

/// What the job queue carries: enough to find the job, nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    /// The job to run.
    pub job_id: JobId,
    /// Its owner (the job is read as theirs).
    pub user_id: UserId,
}

#[async_trait]
/// Where submitted jobs wait for the worker (SQS, a Storage Queue, the local queue).
pub trait JobQueue: Send + Sync {
    /// Queues one job.
    async fn enqueue(&self, message: &JobMessage) -> Result<(), StoreError>;
}

#[async_trait]
/// Where events go to their subscribers (SNS, a queue).
pub trait EventPublisher: Send + Sync {
    /// Publishes one event.
    async fn publish(&self, event: &Event) -> Result<(), StoreError>;
}

/// The outcome of letting a confirmed deletion proceed.
#[derive(Debug, PartialEq, Eq)]
pub enum Proceed {
    /// The workflow moved on to the erasing steps.
    Started,
    /// The workflow already gave up waiting (its confirmation window closed).
    TooLate,
}

#[async_trait]
/// The account-deletion workflow (Step Functions, or chained queue steps).
pub trait DeletionWorkflow: Send + Sync {
    /// Starts the workflow for a new request (the request already published its
    /// code); its first step waits for the confirmation.
    async fn start(&self, deletion: &Deletion) -> Result<(), StoreError>;
    /// Lets a deletion that the owner confirmed run its deleting steps.
    async fn proceed(&self, deletion: &Deletion) -> Result<Proceed, StoreError>;
    /// Whether `proceed` needs the task token the workflow's first step records
    /// (Step Functions). The code reaches the owner as soon as the request is made,
    /// so a confirmation can come before that step has run; it then waits for it.
    fn needs_task_token(&self) -> bool {
        false
    }
}
