//! Azure Storage Queues: send (optionally delayed), receive with a visibility
//! timeout, delete, and hide again. Message text is base64, as the Functions host
//! reads and writes it by default (`messageEncoding: base64`).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use serde::Deserialize;

use super::client::{Service, StorageClient, service_error};
use crate::ports::StoreError;

/// The longest a message can be hidden (send delay or visibility timeout).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A received message: what deleting or hiding it again needs, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMessage {
    /// The message id.
    pub id: String,
    /// Needed to delete it, valid until it becomes visible again.
    pub pop_receipt: String,
    /// Deliveries so far, this one included.
    pub dequeue_count: u32,
    /// The body.
    pub text: String,
}

#[derive(Deserialize)]
struct QueueMessagesList {
    #[serde(rename = "QueueMessage", default)]
    messages: Vec<RawMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMessage {
    message_id: String,
    #[serde(default)]
    pop_receipt: String,
    #[serde(default)]
    dequeue_count: u32,
    #[serde(default)]
    message_text: String,
}

/// Base64 text as written by the host and by `send`; anything else as it is.
fn decode_text(text: &str) -> String {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// One queue. Cheap to clone.
#[derive(Clone)]
pub struct StorageQueue {
    client: StorageClient,
    name: Arc<str>,
}

fn seconds(duration: Duration) -> String {
    duration.min(MAX_VISIBILITY).as_secs().to_string()
}

impl StorageQueue {
    /// The queue `name` of the account `client` reaches.
    pub fn new(client: StorageClient, name: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same account's queue `name`.
    pub fn sibling(&self, name: &str) -> Self {
        Self::new(self.client.clone(), name)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<String>,
        context: &'static str,
    ) -> Result<super::client::StorageResponse, StoreError> {
        let mut headers = HeaderMap::new();
        if body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        }
        self.client
            .send(
                Service::Queue,
                method,
                path,
                query,
                headers,
                body.map(String::into_bytes),
                context,
            )
            .await
    }

    /// Creates the queue unless it exists.
    pub async fn create_if_missing(&self) -> Result<(), StoreError> {
        let path = format!("/{}", self.name);
        let response = self
            .call(Method::PUT, &path, &[], None, "create queue")
            .await?;
        match response.status {
            s if s.is_success() || s == StatusCode::CONFLICT => Ok(()),
            _ => Err(StoreError::new("create queue", service_error(&response))),
        }
    }

    /// Sends `text`, visible after `delay` (at most seven days; longer is an
    /// error, never a silent clamp). Messages never expire.
    pub async fn send(&self, text: &str, delay: Duration) -> Result<(), StoreError> {
        if delay > MAX_VISIBILITY {
            return Err(StoreError::message(
                "a storage queue message cannot be delayed more than 7 days",
            ));
        }
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            STANDARD.encode(text)
        );
        let path = format!("/{}/messages", self.name);
        let query = [
            ("visibilitytimeout", seconds(delay)),
            ("messagettl", "-1".to_owned()),
        ];
        let response = self
            .call(
                Method::POST,
                &path,
                &query,
                Some(body),
                "send queue message",
            )
            .await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(StoreError::new(
                "send queue message",
                service_error(&response),
            ))
        }
    }

    async fn list(
        &self,
        query: &[(&str, String)],
        context: &'static str,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let path = format!("/{}/messages", self.name);
        let response = self.call(Method::GET, &path, query, None, context).await?;
        if !response.status.is_success() {
            return Err(StoreError::new(context, service_error(&response)));
        }
        let list: QueueMessagesList = quick_xml::de::from_str(response.text(context)?)
            .map_err(|e| StoreError::new(context, e))?;
        Ok(list
            .messages
            .into_iter()
            .map(|m| QueueMessage {
                id: m.message_id,
                pop_receipt: m.pop_receipt,
                dequeue_count: m.dequeue_count,
                text: decode_text(&m.message_text),
            })
            .collect())
    }

    /// Up to `max` (1–32) visible messages, each hidden for `visibility`.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let query = [
            ("numofmessages", max.clamp(1, 32).to_string()),
            (
                "visibilitytimeout",
                seconds(visibility.max(Duration::from_secs(1))),
            ),
        ];
        self.list(&query, "receive queue messages").await
    }

    /// Up to 32 visible messages, left where they are.
    pub async fn peek(&self) -> Result<Vec<QueueMessage>, StoreError> {
        let query = [
            ("peekonly", "true".to_owned()),
            ("numofmessages", "32".to_owned()),
        ];
        self.list(&query, "peek queue messages").await
    }

    /// Deletes a message received from this queue (its work is done).
    pub async fn delete(&self, message: &QueueMessage) -> Result<(), StoreError> {
        let path = format!("/{}/messages/{}", self.name, message.id);
        let query = [("popreceipt", message.pop_receipt.clone())];
        let response = self
            .call(Method::DELETE, &path, &query, None, "delete queue message")
            .await?;
        match response.status {
            // Gone already (deleted by an earlier attempt, or the receipt is stale
            // because it was received again): nothing left to do here.
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(StoreError::new(
                "delete queue message",
                service_error(&response),
            )),
        }
    }

    /// Hides a received message for `visibility` from now (a retry delay).
    pub async fn hide(
        &self,
        message: &QueueMessage,
        visibility: Duration,
    ) -> Result<(), StoreError> {
        let path = format!("/{}/messages/{}", self.name, message.id);
        let query = [
            ("popreceipt", message.pop_receipt.clone()),
            ("visibilitytimeout", seconds(visibility)),
        ];
        let response = self
            .call(Method::PUT, &path, &query, None, "hide queue message")
            .await?;
        match response.status {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(StoreError::new(
                "hide queue message",
                service_error(&response),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_lists_are_parsed_and_base64_text_decoded() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage>\
            <MessageId>5974b586-0df3-4e2d-ad0c-18e3892bfca2</MessageId>\
            <InsertionTime>Fri, 09 Oct 2009 21:04:30 GMT</InsertionTime>\
            <PopReceipt>YzQ4Yzg1MDItYTc0Ny00OWNjLTkxYTUtZGM0MDFiZDAwYzEw</PopReceipt>\
            <DequeueCount>2</DequeueCount><MessageText>eyJhIjoxfQ==</MessageText>\
            </QueueMessage></QueueMessagesList>";
        let list: QueueMessagesList = quick_xml::de::from_str(xml).unwrap();
        let m = &list.messages[0];
        assert_eq!(
            (m.dequeue_count, decode_text(&m.message_text).as_str()),
            (2, "{\"a\":1}")
        );
        let empty: QueueMessagesList = quick_xml::de::from_str("<QueueMessagesList />").unwrap();
        assert!(empty.messages.is_empty());
    }

    #[test]
    fn text_that_is_not_base64_is_kept_as_it_is() {
        assert_eq!(decode_text("{\"job\": 1}"), "{\"job\": 1}");
    }
}

#[cfg(test)]
mod azurite_tests {
    use std::time::Duration;

    use super::super::test_support::queue;

    #[tokio::test]
    async fn a_received_message_is_hidden_until_deleted_or_its_timeout() {
        let q = queue().await;
        q.send("{\"n\":1}", Duration::ZERO).await.unwrap();
        let got = q.receive(10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].text.as_str(), got[0].dequeue_count),
            ("{\"n\":1}", 1)
        );
        assert!(
            q.receive(10, Duration::from_secs(30))
                .await
                .unwrap()
                .is_empty()
        );
        q.delete(&got[0]).await.unwrap();
        assert!(q.peek().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn hidden_again_it_comes_back_with_its_dequeue_count() {
        let q = queue().await;
        q.send("retry me", Duration::ZERO).await.unwrap();
        let first = q.receive(1, Duration::from_secs(30)).await.unwrap();
        q.hide(&first[0], Duration::ZERO).await.unwrap();
        let second = q.receive(1, Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            (second[0].text.as_str(), second[0].dequeue_count),
            ("retry me", 2)
        );
    }

    #[tokio::test]
    async fn delayed_messages_wait_and_over_long_delays_are_refused() {
        let q = queue().await;
        q.send("later", Duration::from_secs(60)).await.unwrap();
        assert!(q.peek().await.unwrap().is_empty());
        let err = q
            .send("too late", super::MAX_VISIBILITY + Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("7 days"), "{err}");
    }
}
