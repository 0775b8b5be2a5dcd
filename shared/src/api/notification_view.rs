//! How the API shows a notification.

use serde_json::{Map, Value, json};

use crate::domain::Notification;

/// `{"id", "type", "created_at", ...the event's own fields}`.
pub(super) fn notification_json(notification: &Notification) -> Value {
    let mut body = Map::new();
    body.insert("id".into(), json!(notification.id));
    body.insert("type".into(), json!(notification.event.detail.kind()));
    body.insert("created_at".into(), json!(notification.event.occurred_at()));
    if let Ok(Value::Object(fields)) = serde_json::to_value(&notification.event.detail) {
        for (name, value) in fields {
            if name == "type" {
                continue;
            }
            let value = match (name.as_str(), &value) {
                ("expires_at", Value::Number(n)) => n
                    .as_i64()
                    .map(|ms| json!(crate::domain::Timestamp::from_unix_millis(ms)))
                    .unwrap_or(value),
                _ => value,
            };
            body.insert(name, value);
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DeletionId, Event, EventDetail, Timestamp, UserId};

    #[test]
    fn shows_the_event_fields_with_rfc3339_times() {
        let deletion_id = DeletionId::new_random();
        let event = Event::new(
            UserId::new_random(),
            Timestamp::from_unix_millis(0),
            EventDetail::AccountDeletionRequested {
                deletion_id,
                code: "123456".into(),
                expires_at: 60_000,
            },
        );
        let body = notification_json(&Notification::from_event(event));
        assert_eq!(body["type"], "account.deletion_requested");
        assert_eq!(body["deletion_id"], deletion_id.to_string());
        assert_eq!(body["code"], "123456");
        assert_eq!(body["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(body["expires_at"], "1970-01-01T00:01:00Z");
        assert!(body.get("user_id").is_none());
    }
}
