//! The local server's queues: durable queues in the embedded database, standing
//! in for SQS, SNS and Step Functions (see `hosts::chained`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::adapters::sqlite::SqliteQueue;
use crate::hosts::chained::{ChainedQueues, MessageSink};
use crate::ports::StoreError;

/// The three local queues: jobs (the worker), events (the notifier) and deletion
/// steps (the workflow engine).
#[derive(Clone)]
pub struct LocalQueues {
    /// The jobs queue.
    pub jobs: SqliteQueue,
    /// The events queue.
    pub events: SqliteQueue,
    /// The deletion steps' queue.
    pub steps: SqliteQueue,
}

impl LocalQueues {
    /// Jobs, events and the deletion workflow on these queues.
    pub fn chained(&self) -> ChainedQueues {
        ChainedQueues {
            jobs: Arc::new(self.jobs.clone()),
            events: Arc::new(self.events.clone()),
            steps: Arc::new(self.steps.clone()),
        }
    }
}

#[async_trait]
impl MessageSink for SqliteQueue {
    async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError> {
        SqliteQueue::send(self, body, delay).await
    }
}
