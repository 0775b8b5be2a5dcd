use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use super::LazyClient;
use crate::domain::Event;
use crate::ports::{EventPublisher, StoreError};

/// The events topic. The message is the event's JSON; its type also goes in a
/// message attribute, so subscribers can filter without parsing.
#[derive(Clone)]
pub struct SnsEventPublisher {
    client: LazyClient<aws_sdk_sns::Client>,
    topic_arn: String,
}

impl SnsEventPublisher {
    /// Publishes to `topic_arn`.
    pub fn new(
        client: impl Into<LazyClient<aws_sdk_sns::Client>>,
        topic_arn: impl Into<String>,
    ) -> Self {
        Self {
            client: client.into(),
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl EventPublisher for SnsEventPublisher {
    async fn publish(&self, event: &Event) -> Result<(), StoreError> {
        let message = crate::telemetry::correlation::stamp(event)
            .map_err(|e| StoreError::new("encode event", e))?;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event.detail.kind())
            .build()
            .map_err(|e| StoreError::new("build event attribute", e))?;
        self.client
            .get()
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .message_attributes("type", kind)
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("publish event", e))
    }
}
