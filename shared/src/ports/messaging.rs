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
    pub job_id: JobId,
    pub user_id: UserId,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, message: &JobMessage) -> Result<(), StoreError>;
}

#[async_trait]
pub trait EventPublisher: Send + Sync {
    async fn publish(&self, event: &Event) -> Result<(), StoreError>;
}

/// The outcome of letting a confirmed deletion proceed.
#[derive(Debug, PartialEq, Eq)]
pub enum Proceed {
    Started,
    /// The workflow already gave up waiting (its confirmation window closed).
    TooLate,
}

#[async_trait]
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
