//! The correlation id: the id of the HTTP request that caused a piece of work,
//! carried by every message that work sends (job messages, events, workflow
//! input and steps), so the worker's, notifier's and workflow's log lines and
//! metric documents for it can be found with the request's. Powertools calls the
//! same key `correlation_id`.
//!
//! It travels as the field `correlation_id` of each message's JSON body, with the
//! W3C `traceparent` of the request beside it when the request had one: Storage
//! Queues and the local queues have no attributes, and Step Functions passes JSON
//! input on, so a body field is the one form every hop of every host keeps. While
//! a request or a message is handled, its correlation is task-local, so code that
//! sends a message stamps it without being handed anything.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The body field a message's correlation id travels in.
pub const FIELD: &str = "correlation_id";
/// The body field a message's W3C trace context travels in.
pub const TRACEPARENT_FIELD: &str = "traceparent";

/// A correlation id: 1 to 128 printable ASCII characters, the rule an
/// `X-Request-Id` obeys, so whatever reaches logs is bounded and safe to print.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CorrelationId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a correlation id is 1 to 128 printable ASCII characters")]
/// A value that is not a correlation id.
pub struct CorrelationIdError;

impl CorrelationId {
    /// The longest id kept.
    pub const MAX_LEN: usize = 128;

    /// Parses an id; see the type's rules.
    pub fn parse(text: &str) -> Result<Self, CorrelationIdError> {
        let ok = (1..=Self::MAX_LEN).contains(&text.len())
            && text.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(CorrelationIdError)
        }
    }

    /// A new random id, for work that no request caused.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`), as a platform or a
/// caller sent it with a request (Azure's front ends and Application Insights
/// set one), kept so the work the request caused joins the same trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceParent(String);

impl TraceParent {
    /// Parses the version-00 form; anything else is dropped by the caller, as the
    /// W3C specification says a malformed header is.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split('-').collect();
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let all_zero = |s: &str| s.bytes().all(|b| b == b'0');
        let ok = matches!(parts.as_slice(), [version, trace, parent, flags]
            if *version == "00"
                && hex(trace, 32) && !all_zero(trace)
                && hex(parent, 16) && !all_zero(parent)
                && hex(flags, 2));
        ok.then(|| Self(text.to_owned()))
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a piece of work is correlated by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correlation {
    /// The id of the request that caused it.
    pub id: CorrelationId,
    /// That request's W3C trace context, when it had one.
    pub traceparent: Option<TraceParent>,
}

impl Correlation {
    /// Correlated by `id` alone.
    pub fn new(id: CorrelationId) -> Self {
        Self {
            id,
            traceparent: None,
        }
    }

    /// Records `correlation_id` (and `traceparent`) on `span`, which must declare
    /// both fields (as `tracing::field::Empty` until known).
    pub fn record_on(&self, span: &tracing::Span) {
        span.record(FIELD, self.id.as_str());
        if let Some(traceparent) = &self.traceparent {
            span.record(TRACEPARENT_FIELD, traceparent.as_str());
        }
    }
}

tokio::task_local! {
    static CURRENT: Correlation;
}

/// The correlation of the request or message being handled, if any.
pub fn current() -> Option<Correlation> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` correlated by `correlation`: messages it sends carry it, and the
/// invocation's metric document names it.
pub async fn scope<F: Future>(correlation: Correlation, work: F) -> F::Output {
    super::emf::note_correlation(correlation.id.as_str());
    CURRENT.scope(correlation, work).await
}

/// Runs `work` correlated by `correlation` when there is one, else as it is.
pub async fn scope_if<F: Future>(correlation: Option<Correlation>, work: F) -> F::Output {
    match correlation {
        Some(correlation) => scope(correlation, work).await,
        None => work.await,
    }
}

/// `message` as the JSON body of a message sent now: its own fields, plus the
/// current correlation (or a new id, when no request caused this work, so the
/// hops after this one still join up).
pub fn stamp(message: &impl Serialize) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(message)?;
    if let Value::Object(fields) = &mut value {
        let correlation = current().unwrap_or_else(|| Correlation::new(CorrelationId::generate()));
        fields.insert(FIELD.into(), Value::String(correlation.id.0));
        if let Some(traceparent) = correlation.traceparent {
            fields.insert(TRACEPARENT_FIELD.into(), Value::String(traceparent.0));
        }
    }
    serde_json::to_string(&value)
}

/// A received message body: its correlation (taken out, so message types never
/// see the fields), and the message itself or why it did not parse. A correlation
/// id that breaks the rules is dropped, not the message.
pub fn split<T: DeserializeOwned>(body: &str) -> (Option<Correlation>, Result<T, String>) {
    let mut value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(e) => return (None, Err(format!("malformed message body: {e}"))),
    };
    let correlation = match &mut value {
        Value::Object(fields) => {
            let id = fields
                .remove(FIELD)
                .and_then(|v| v.as_str().and_then(|s| CorrelationId::parse(s).ok()));
            let traceparent = fields
                .remove(TRACEPARENT_FIELD)
                .and_then(|v| v.as_str().and_then(TraceParent::parse));
            id.map(|id| Correlation { id, traceparent })
        }
        _ => None,
    };
    let message = serde_json::from_value(value).map_err(|e| format!("malformed message body: {e}"));
    (correlation, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Message {
        n: u32,
    }

    #[test]
    fn ids_are_bounded_printable_ascii() {
        assert!(CorrelationId::parse("req-1").is_ok());
        assert!(CorrelationId::parse(&"a".repeat(128)).is_ok());
        assert_eq!(
            CorrelationId::parse(&"a".repeat(129)),
            Err(CorrelationIdError)
        );
        assert_eq!(CorrelationId::parse(""), Err(CorrelationIdError));
        assert_eq!(CorrelationId::parse("a\nb"), Err(CorrelationIdError));
        assert_eq!(CorrelationId::parse("é"), Err(CorrelationIdError));
    }

    #[test]
    fn traceparents_are_the_w3c_version_00_form() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(TraceParent::parse(good).unwrap().as_str(), good);
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "garbage",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_stamped_message_splits_back_into_its_correlation_and_itself() {
        let correlation = Correlation {
            id: CorrelationId::parse("req-7").unwrap(),
            traceparent: TraceParent::parse(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        };
        let body = scope(correlation.clone(), async { stamp(&Message { n: 3 }) })
            .await
            .unwrap();
        let (got, message) = split::<Message>(&body);
        assert_eq!(got, Some(correlation));
        assert_eq!(message, Ok(Message { n: 3 }));
    }

    #[test]
    fn work_no_request_caused_gets_a_new_id_each_time() {
        let first = split::<Message>(&stamp(&Message { n: 1 }).unwrap())
            .0
            .unwrap();
        let second = split::<Message>(&stamp(&Message { n: 1 }).unwrap())
            .0
            .unwrap();
        assert_ne!(first.id, second.id);
        assert_eq!(first.traceparent, None);
    }

    #[test]
    fn a_bad_correlation_is_dropped_and_the_message_kept() {
        let long = "x".repeat(200);
        let body = serde_json::json!({ "n": 5, "correlation_id": long, "traceparent": 7 });
        let (correlation, message) = split::<Message>(&body.to_string());
        assert_eq!(correlation, None);
        assert_eq!(message, Ok(Message { n: 5 }));
        let (none, message) = split::<Message>(r#"{"n": 6}"#);
        assert_eq!((none, message), (None, Ok(Message { n: 6 })));
        assert!(split::<Message>("not json").1.is_err());
    }
}
