use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random (version 4) id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The id as a UUID.
            pub fn as_uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies an account; the JWT `sub` claim.
    UserId
);
uuid_id!(
    /// Identifies one login; the JWT `sid` claim.
    SessionId
);
uuid_id!(
    /// Identifies a job. Created with [`JobId::new_time_ordered`], so ids sort by
    /// creation time and a store lists newest-first by id alone.
    JobId
);
uuid_id!(
    /// Identifies one account-deletion request (and its workflow execution).
    DeletionId
);
uuid_id!(
    /// Identifies a notification; derived from the event it records, so a
    /// redelivered event maps to the same notification.
    NotificationId
);

impl JobId {
    /// A UUIDv7: milliseconds since the epoch first, then randomness.
    pub fn new_time_ordered() -> Self {
        Self(Uuid::now_v7())
    }
}

impl NotificationId {
    /// The same event (kind + subject) always yields the same id.
    pub fn for_event(kind: &str, subject: &str) -> Self {
        Self(Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("skiff:{kind}:{subject}").as_bytes(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = UserId::new_random();
        assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        assert!("not-a-uuid".parse::<SessionId>().is_err());
    }

    #[test]
    fn job_ids_sort_by_creation() {
        let first = JobId::new_time_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = JobId::new_time_ordered();
        assert!(first.to_string() < second.to_string());
    }

    #[test]
    fn notification_ids_are_stable_per_event() {
        let a = NotificationId::for_event("job.succeeded", "x");
        assert_eq!(a, NotificationId::for_event("job.succeeded", "x"));
        assert_ne!(a, NotificationId::for_event("job.failed", "x"));
    }
}
