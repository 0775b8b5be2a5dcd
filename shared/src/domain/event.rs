use serde::{Deserialize, Serialize};

use super::{DeletionId, JobId, NotificationId, Timestamp, UserId};

/// What happened, as published on the event topic (SNS on AWS) and turned into
/// notifications by the notifier. The JSON form is the wire format:
/// `{"type": "job.succeeded", "user_id": ..., "occurred_at": ..., "job_id": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub user_id: UserId,
    /// Unix milliseconds. Set from the record the event is about (a job's finish
    /// time, a deletion's creation), so a re-published event is the same event.
    /// An RFC 3339 string is read too: that is the only time Step Functions can
    /// put in a message it publishes itself (`$$.State.EnteredTime`).
    #[serde(deserialize_with = "millis_or_rfc3339")]
    pub occurred_at: i64,
    #[serde(flatten)]
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
pub enum EventDetail {
    #[serde(rename = "job.succeeded")]
    JobSucceeded { job_id: JobId },
    #[serde(rename = "job.failed")]
    JobFailed { job_id: JobId, error: String },
    /// The code stands in for an e-mail to the account's owner.
    #[serde(rename = "account.deletion_requested")]
    AccountDeletionRequested {
        deletion_id: DeletionId,
        code: String,
        expires_at: i64,
    },
    #[serde(rename = "account.deleted")]
    AccountDeleted { deletion_id: DeletionId },
}

impl EventDetail {
    pub fn kind(&self) -> &'static str {
        match self {
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
        }
    }
}

impl Event {
    pub fn new(user_id: UserId, occurred_at: Timestamp, detail: EventDetail) -> Self {
        Self {
            user_id,
            occurred_at: occurred_at.unix_millis(),
            detail,
        }
    }

    pub fn occurred_at(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.occurred_at)
    }

    pub fn notification_id(&self) -> NotificationId {
        NotificationId::for_event(self.detail.kind(), &self.detail.subject())
    }
}

/// A notification as the owner reads it: the event, under a stable id.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub event: Event,
}

impl Notification {
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
