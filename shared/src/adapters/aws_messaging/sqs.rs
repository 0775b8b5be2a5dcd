use async_trait::async_trait;

use super::LazyClient;
use crate::ports::{JobMessage, JobQueue, StoreError};

/// The job queue: one message per job, the worker function consumes it.
#[derive(Clone)]
pub struct SqsJobQueue {
    client: LazyClient<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl SqsJobQueue {
    /// Sends to `queue_url`.
    pub fn new(
        client: impl Into<LazyClient<aws_sdk_sqs::Client>>,
        queue_url: impl Into<String>,
    ) -> Self {
        Self {
            client: client.into(),
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, message: &JobMessage) -> Result<(), StoreError> {
        let body = crate::telemetry::correlation::stamp(message)
            .map_err(|e| StoreError::new("encode job message", e))?;
        self.client
            .get()
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("send job message", e))
    }
}
