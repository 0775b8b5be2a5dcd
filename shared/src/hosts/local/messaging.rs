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
    pub jobs: SqliteQueue,
    pub events: SqliteQueue,
    pub steps: SqliteQueue,
}

impl LocalQueues {
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
