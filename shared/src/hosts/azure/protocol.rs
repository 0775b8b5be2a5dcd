//! The custom-handler invocation protocol for non-HTTP triggers: the host POSTs
//! `{"Data": {...}, "Metadata": {...}}` to `/{FunctionName}` and reads
//! `{"Outputs": {...}, "Logs": [...], "ReturnValue": ...}` back. A non-2xx answer
//! fails the invocation, which for a queue trigger means a retry (and, after
//! `maxDequeueCount`, the poison queue).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Default, Deserialize)]
/// What the Functions host posts to a queue-triggered function.
pub struct InvocationRequest {
    #[serde(rename = "Data", default)]
    /// The trigger's and input bindings' values.
    pub data: Map<String, Value>,
    #[serde(rename = "Metadata", default)]
    /// The trigger's metadata (dequeue count, ids).
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
/// What a function answers the host.
pub struct InvocationResponse {
    #[serde(rename = "Outputs")]
    /// Output bindings' values.
    pub outputs: Map<String, Value>,
    #[serde(rename = "Logs")]
    /// Lines the host adds to its own logs.
    pub logs: Vec<String>,
    #[serde(rename = "ReturnValue")]
    /// The function's return value.
    pub return_value: Value,
}

/// Undoes the host's habit of JSON-encoding metadata strings a second time
/// (`"Id": "\"4e77…\""`): a string that is itself a quoted JSON string is
/// replaced by what it encodes. Anything else is left alone (an id such as
/// `4e77` must not turn into a number).
fn unwrap_encoded(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') => {
            serde_json::from_str::<String>(text)
                .map(Value::String)
                .unwrap_or_else(|_| value.clone())
        }
        other => other.clone(),
    }
}

impl InvocationRequest {
    /// The trigger's payload under `binding`: the message text. The host passes
    /// text as a string, and may pass JSON it recognised as an object.
    pub fn trigger_text(&self, binding: &str) -> Option<String> {
        match self.data.get(binding)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A metadata value as text, double encoding undone.
    pub fn metadata_text(&self, name: &str) -> Option<String> {
        match unwrap_encoded(self.metadata.get(name)?) {
            Value::String(text) => Some(text),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// How often this message has been delivered (1 on the first delivery).
    pub fn dequeue_count(&self) -> Option<u32> {
        match unwrap_encoded(self.metadata.get("DequeueCount")?) {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> InvocationRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn double_encoded_and_plain_metadata_read_the_same() {
        let double = request(
            r#"{"Data":{"message":"{\"a\":1}"},"Metadata":{"Id":"\"4e77\"","DequeueCount":"2"}}"#,
        );
        let plain =
            request(r#"{"Data":{"message":{"a":1}},"Metadata":{"Id":"4e77","DequeueCount":2}}"#);
        for r in [double, plain] {
            assert_eq!(r.metadata_text("Id").as_deref(), Some("4e77"));
            assert_eq!(r.dequeue_count(), Some(2));
            let text = r.trigger_text("message").unwrap();
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["a"], 1);
        }
    }

    #[test]
    fn missing_parts_are_none_not_errors() {
        let r = request("{}");
        assert_eq!((r.trigger_text("message"), r.dequeue_count()), (None, None));
    }

    #[test]
    fn responses_use_the_host_field_names() {
        let body = serde_json::to_value(InvocationResponse::default()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Outputs": {}, "Logs": [], "ReturnValue": null})
        );
    }
}
