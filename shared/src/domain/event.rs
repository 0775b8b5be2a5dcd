use serde::{Deserialize, Serialize};

use super::{DeletionId, JobId, NotificationId, Timestamp, UserId};

/// What happened, as published on the event topic (SNS on AWS) and turned into
/// notifications by the notifier. The JSON form is the wire format:
/// `{"type": "job.succeeded", "user_id": ..., "occurred_at": ..., "job_id": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Whose event it is: the notification goes to them.
    pub user_id: UserId,
    /// Unix milliseconds. Set from the record the event is about (a job's finish
    /// time, a deletion's creation), so a re-published event is the same event.
    /// An RFC 3339 string is read too: that is the only time Step Functions can
    /// put in a message it publishes itself (`$$.State.EnteredTime`).
    #[serde(deserialize_with = "millis_or_rfc3339")]
    pub occurred_at: i64,
    #[serde(flatten)]
    /// What happened.
    pub detail: EventDetail,
}

fn millis_or_rfc3339<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Millis(i64),
        Text(String),
    }
    match Either::deserialize(deserializer)? {
        Either::Millis(ms) => Ok(ms),
        Either::Text(text) => {
            let parsed =
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| serde::de::Error::custom(format!("occurred_at: {e}")))?;
            i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| serde::de::Error::custom("occurred_at is out of range"))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
/// What happened, by kind: the `type` field on the wire.
pub enum EventDetail {
    #[serde(rename = "job.succeeded")]
    /// A job finished with a result.
    JobSucceeded {
        /// The job.
        job_id: JobId,
    },
    #[serde(rename = "job.failed")]
    /// A job failed for good.
    JobFailed {
        /// The job.
        job_id: JobId,
        /// Why, as the job record says.
        error: String,
    },
    /// The code stands in for an e-mail to the account's owner.
    #[serde(rename = "account.deletion_requested")]
    AccountDeletionRequested {
        /// The request.
        deletion_id: DeletionId,
        /// The confirmation code, for the owner's eyes only.
        code: String,
        /// Unix milliseconds when the request lapses.
        expires_at: i64,
    },
    #[serde(rename = "account.deleted")]
    /// The workflow erased the account.
    AccountDeleted {
        /// The request that did it.
        deletion_id: DeletionId,
    },
    /// An app's own event (`order.placed`), as its subscribers write it into
    /// notifications.
    #[serde(untagged)]
    App(AppEvent),
}

/// An app-defined event: its kind, the record it is about and its own fields,
/// which the notification shows as they are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppEvent {
    /// `<area>.<what happened>`, such as `order.placed`.
    #[serde(rename = "type")]
    pub kind: AppEventKind,
    /// The id of the record the event is about: one notification per
    /// (kind, subject), however often the event is handled.
    pub subject: String,
    /// Anything else the notification should show.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// An app event's kind: `<area>.<name>`, each part 1 to 32 of `a-z`, `0-9` and
/// `_`. The areas Skiff's own events use (`job`, `account`) are reserved, so an
/// app event can never pass for one of them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AppEventKind(String);

/// Why an app event kind was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an app event kind is <area>.<name> (a-z, 0-9, '_'), outside the areas job and account")]
pub struct BadAppEventKind;

impl AppEventKind {
    /// Parses a kind; see the type's rules.
    pub fn parse(kind: &str) -> Result<Self, BadAppEventKind> {
        let part_ok = |part: &str| {
            (1..=32).contains(&part.len())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        match kind.split_once('.') {
            Some((area, name))
                if part_ok(area) && part_ok(name) && !["job", "account"].contains(&area) =>
            {
                Ok(Self(kind.to_owned()))
            }
            _ => Err(BadAppEventKind),
        }
    }

    /// The kind as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AppEventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let kind = String::deserialize(deserializer)?;
        Self::parse(&kind).map_err(serde::de::Error::custom)
    }
}

impl EventDetail {
    /// The kind, as the `type` field says it.
    pub fn kind(&self) -> &str {
        match self {
            EventDetail::App(event) => event.kind.as_str(),
            EventDetail::JobSucceeded { .. } => "job.succeeded",
            EventDetail::JobFailed { .. } => "job.failed",
            EventDetail::AccountDeletionRequested { .. } => "account.deletion_requested",
            EventDetail::AccountDeleted { .. } => "account.deleted",
        }
    }

    /// The record the event is about: one notification per (kind, subject).
    fn subject(&self) -> String {
        match self {
            EventDetail::JobSucceeded { job_id } | EventDetail::JobFailed { job_id, .. } => {
                job_id.to_string()
            }
            EventDetail::AccountDeletionRequested { deletion_id, .. }
            | EventDetail::AccountDeleted { deletion_id } => deletion_id.to_string(),
            EventDetail::App(event) => event.subject.clone(),
        }
    }
}

impl Event {
    /// The event, timed by the record it is about.
    pub fn new(user_id: UserId, occurred_at: Timestamp, detail: EventDetail) -> Self {
        Self {
            user_id,
            occurred_at: occurred_at.unix_millis(),
            detail,
        }
    }

    /// When it happened.
    pub fn occurred_at(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.occurred_at)
    }

    /// The id of the notification it becomes: the same for the same event.
    pub fn notification_id(&self) -> NotificationId {
        NotificationId::for_event(self.detail.kind(), &self.detail.subject())
    }
}

/// A notification as the owner reads it: the event, under a stable id.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// Derived from the event's kind and subject.
    pub id: NotificationId,
    /// The event, as published.
    pub event: Event,
}

impl Notification {
    /// The notification of `event`.
    pub fn from_event(event: Event) -> Self {
        Self {
            id: event.notification_id(),
            event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_flat_and_tagged() {
        let job_id = JobId::new_time_ordered();
        let event = Event::new(
            UserId::new_random(),
            Timestamp::from_unix_millis(5),
            EventDetail::JobSucceeded { job_id },
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "job.succeeded");
        assert_eq!(json["job_id"], job_id.to_string());
        assert_eq!(json["occurred_at"], 5);
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert!(serde_json::from_str::<Event>(r#"{"type":"nope"}"#).is_err());
    }

    #[test]
    fn app_events_round_trip_and_never_pass_for_skiffs_own() {
        let user = UserId::new_random();
        let json = serde_json::json!({"type": "order.placed", "user_id": user,
            "occurred_at": 7, "subject": "o-1", "order_id": "o-1", "total": 3});
        let event: Event = serde_json::from_value(json.clone()).unwrap();
        let EventDetail::App(app) = &event.detail else {
            panic!("expected an app event, got {:?}", event.detail);
        };
        assert_eq!(app.kind.as_str(), "order.placed");
        assert_eq!(app.fields["total"], 3);
        assert_eq!(serde_json::to_value(&event).unwrap(), json);
        // A malformed Skiff event is refused, not read as an app event.
        for kind in ["job.succeeded", "account.deleted", "job.anything"] {
            let forged = serde_json::json!({"type": kind, "user_id": user,
                "occurred_at": 7, "subject": "x"});
            assert!(serde_json::from_value::<Event>(forged).is_err(), "{kind}");
        }
    }

    /// What the state machine's `PublishDeleted` step sends.
    #[test]
    fn step_functions_times_are_read() {
        let json = r#"{"type":"account.deleted","user_id":"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
            "deletion_id":"7f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b","occurred_at":"2026-12-01T09:30:00.123Z"}"#;
        let event: Event = serde_json::from_str(json).unwrap();
        assert_eq!(event.occurred_at, 1_796_117_400_123);
        assert!(
            serde_json::from_str::<Event>(&json.replace("2026-12-01T09:30:00.123Z", "soon"))
                .is_err()
        );
    }

    #[test]
    fn the_same_event_gets_the_same_notification() {
        let job_id = JobId::new_time_ordered();
        let user = UserId::new_random();
        let at = Timestamp::from_unix_millis(1);
        let ok = Event::new(user, at, EventDetail::JobSucceeded { job_id });
        assert_eq!(
            Notification::from_event(ok.clone()).id,
            Notification::from_event(ok).id
        );
        let failed = Event::new(
            user,
            at,
            EventDetail::JobFailed {
                job_id,
                error: "x".into(),
            },
        );
        assert_ne!(
            failed.notification_id(),
            Event::new(user, at, EventDetail::JobSucceeded { job_id }).notification_id()
        );
    }
}
