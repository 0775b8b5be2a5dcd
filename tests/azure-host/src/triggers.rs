//! Queue triggers as the host runs them: poll the queue (backing off to
//! `maxPollingInterval` while idle), POST each message to `/{FunctionName}` as
//! `{"Data": {binding: text}, "Metadata": {...}}` with the metadata strings
//! JSON-encoded a second time as the real host sends them, write the answer's
//! `Outputs` to the output-binding queues, delete the message on 2xx, and on
//! failure hide it for `visibilityTimeout`, or move it to `<queue>-poison` once it
//! has been dequeued `maxDequeueCount` times.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skiff::adapters::azure::{QueueMessage, StorageQueue};
use tokio::task::JoinSet;

use crate::app::{Function, QueueSettings};

/// While a message is being handled it stays hidden this long (the host's lease).
const LEASE: Duration = Duration::from_secs(60);
const FIRST_POLL: Duration = Duration::from_millis(100);

pub struct QueueTrigger {
    pub function: Function,
    pub binding: String,
    pub queue: StorageQueue,
    pub outputs: Vec<(String, StorageQueue)>,
    pub settings: QueueSettings,
    pub handler: String,
    pub client: reqwest::Client,
}

/// The host's payload for one message.
pub fn payload(function: &str, binding: &str, message: &QueueMessage) -> Value {
    let encoded = |text: &str| Value::String(Value::String(text.to_owned()).to_string());
    json!({
        "Data": { binding: message.text },
        "Metadata": {
            "Id": encoded(&message.id),
            "DequeueCount": message.dequeue_count.to_string(),
            "PopReceipt": encoded(&message.pop_receipt),
            "sys": {
                "MethodName": function,
                "UtcNow": skiff::domain::Timestamp::now().to_rfc3339(),
            }
        }
    })
}

/// Messages an `Outputs` value carries for one binding: a string, an array of
/// strings, or JSON (written as its text).
fn output_messages(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().flat_map(output_messages).collect(),
        Value::String(text) => vec![text.clone()],
        other => vec![other.to_string()],
    }
}

impl QueueTrigger {
    /// Polls until the task is dropped.
    pub async fn run(self: Arc<Self>) {
        let mut idle = FIRST_POLL;
        loop {
            let messages = match self.queue.receive(self.settings.batch_size, LEASE).await {
                Ok(messages) => messages,
                Err(e) => {
                    tracing::error!(queue = self.queue.name(), error = %e, "receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                tokio::time::sleep(idle).await;
                idle = (idle * 2).min(self.settings.max_polling_interval.max(FIRST_POLL));
                continue;
            }
            idle = FIRST_POLL;
            let mut batch = JoinSet::new();
            for message in messages {
                let trigger = self.clone();
                batch.spawn(async move { trigger.deliver(message).await });
            }
            while batch.join_next().await.is_some() {}
        }
    }

    async fn deliver(&self, message: QueueMessage) {
        let name = &self.function.name;
        match self.invoke(&message).await {
            Ok(outputs) => {
                if let Err(e) = self.write_outputs(&outputs).await {
                    // Not deleted: it comes back after the lease, as with the host.
                    tracing::error!(function = %name, error = %e, "output binding failed");
                    return;
                }
                if let Err(e) = self.queue.delete(&message).await {
                    tracing::warn!(function = %name, error = %e, "delete failed");
                }
            }
            Err(reason) if message.dequeue_count >= self.settings.max_dequeue_count => {
                tracing::warn!(function = %name, %reason, dequeue_count = message.dequeue_count, "moving to poison queue");
                let poison = self.queue.sibling(&format!("{}-poison", self.queue.name()));
                let moved = async {
                    poison.create_if_missing().await?;
                    poison.send(&message.text, Duration::ZERO).await?;
                    self.queue.delete(&message).await
                };
                if let Err(e) = moved.await {
                    tracing::error!(function = %name, error = %e, "poison move failed");
                }
            }
            Err(reason) => {
                tracing::info!(function = %name, %reason, dequeue_count = message.dequeue_count, "invocation failed; retrying");
                if let Err(e) = self
                    .queue
                    .hide(&message, self.settings.visibility_timeout)
                    .await
                {
                    tracing::warn!(function = %name, error = %e, "hide failed");
                }
            }
        }
    }

    /// The invocation's `Outputs`, or why it failed.
    async fn invoke(&self, message: &QueueMessage) -> Result<Value, String> {
        let url = format!("{}/{}", self.handler, self.function.name);
        let response = self
            .client
            .post(url)
            .json(&payload(&self.function.name, &self.binding, message))
            .send()
            .await
            .map_err(|e| format!("handler unreachable: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{status}: {}", body["Logs"]));
        }
        Ok(body["Outputs"].clone())
    }

    async fn write_outputs(&self, outputs: &Value) -> Result<(), String> {
        let Some(outputs) = outputs.as_object() else {
            return Ok(());
        };
        for (binding, value) in outputs {
            let Some((_, queue)) = self.outputs.iter().find(|(name, _)| name == binding) else {
                return Err(format!(
                    "Outputs.{binding} has no output binding in function.json"
                ));
            };
            for text in output_messages(value) {
                queue
                    .send(&text, Duration::ZERO)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_encode_metadata_strings_twice_like_the_host() {
        let message = QueueMessage {
            id: "4e77".into(),
            pop_receipt: "r".into(),
            dequeue_count: 2,
            text: "{\"a\":1}".into(),
        };
        let p = payload("worker", "message", &message);
        assert_eq!(p["Data"]["message"], "{\"a\":1}");
        assert_eq!(p["Metadata"]["Id"], "\"4e77\"");
        assert_eq!(p["Metadata"]["DequeueCount"], "2");
    }

    #[test]
    fn outputs_may_be_one_message_or_many() {
        assert_eq!(output_messages(&json!("a")), ["a"]);
        assert_eq!(output_messages(&json!(["a", "b"])), ["a", "b"]);
        assert_eq!(output_messages(&json!({"k": 1})), ["{\"k\":1}"]);
        assert!(output_messages(&Value::Null).is_empty());
    }
}
