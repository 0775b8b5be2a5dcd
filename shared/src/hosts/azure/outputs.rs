//! Output bindings: messages a queue-triggered function hands back in `Outputs`
//! for the host to write once the invocation succeeds. A failed invocation
//! therefore sends nothing, and its retry sends them again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::hosts::chained::MessageSink;
use crate::ports::StoreError;

/// The messages collected during one invocation, by binding name.
#[derive(Clone, Default)]
pub struct BindingOutputs {
    messages: Arc<Mutex<BTreeMap<String, Vec<String>>>>,
}

struct Binding {
    name: String,
    outputs: BindingOutputs,
}

impl BindingOutputs {
    /// A sink writing to output binding `name`.
    pub fn binding(&self, name: &str) -> Arc<dyn MessageSink> {
        Arc::new(Binding {
            name: name.to_owned(),
            outputs: self.clone(),
        })
    }

    /// `Outputs` for the response: each binding's messages as an array.
    pub fn into_outputs(self) -> Map<String, Value> {
        let messages = match self.messages.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        messages
            .into_iter()
            .map(|(name, bodies)| {
                (
                    name,
                    Value::Array(bodies.into_iter().map(Value::String).collect()),
                )
            })
            .collect()
    }
}

#[async_trait]
impl MessageSink for Binding {
    /// An output binding cannot delay a message: delays go to the queue directly.
    async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError> {
        if !delay.is_zero() {
            return Err(StoreError::message(
                "an output binding cannot delay a message",
            ));
        }
        let mut messages = self
            .outputs
            .messages
            .lock()
            .map_err(|_| StoreError::message("output bindings poisoned"))?;
        messages.entry(self.name.clone()).or_default().push(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_are_collected_per_binding_in_order() {
        let outputs = BindingOutputs::default();
        let events = outputs.binding("events");
        events.send("a".into(), Duration::ZERO).await.unwrap();
        events.send("b".into(), Duration::ZERO).await.unwrap();
        assert!(
            events
                .send("c".into(), Duration::from_secs(1))
                .await
                .is_err()
        );
        assert_eq!(
            Value::Object(outputs.into_outputs()),
            serde_json::json!({"events": ["a", "b"]})
        );
    }
}
