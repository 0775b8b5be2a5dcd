use std::str::FromStr;

use rand_core::{OsRng, RngCore};
use serde::Serialize;

use super::{DeletionId, Timestamp, UserId};

/// Where an account deletion is. `awaiting_confirmation` moves to `in_progress`
/// (confirmed in time) or `expired`; `in_progress` ends `completed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    AwaitingConfirmation,
    InProgress,
    Completed,
    Expired,
}

impl DeletionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::AwaitingConfirmation => "awaiting_confirmation",
            DeletionStatus::InProgress => "in_progress",
            DeletionStatus::Completed => "completed",
            DeletionStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown deletion status {0:?}")]
pub struct UnknownDeletionStatus(String);

impl FromStr for DeletionStatus {
    type Err = UnknownDeletionStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "awaiting_confirmation" => DeletionStatus::AwaitingConfirmation,
            "in_progress" => DeletionStatus::InProgress,
            "completed" => DeletionStatus::Completed,
            "expired" => DeletionStatus::Expired,
            other => return Err(UnknownDeletionStatus(other.to_owned())),
        })
    }
}

/// The six-digit code the owner must send back. It travels in the
/// `account.deletion_requested` notification (standing in for an e-mail), so it is
/// stored as plainly as that notification is; its strength is its short life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationCode(String);

impl ConfirmationCode {
    pub fn generate() -> Self {
        Self(format!("{:06}", OsRng.next_u32() % 1_000_000))
    }

    /// A stored code, as read back from a store.
    pub fn from_stored(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.trim().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// One deletion request: the workflow's state as the API reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Deletion {
    pub id: DeletionId,
    pub user_id: UserId,
    pub status: DeletionStatus,
    pub code: ConfirmationCode,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The Step Functions task token of the confirmation step (AWS only): the
    /// confirm endpoint completes it.
    pub task_token: Option<String>,
}

impl Deletion {
    pub fn request(user_id: UserId, now: Timestamp, window: std::time::Duration) -> Self {
        Self {
            id: DeletionId::new_random(),
            user_id,
            status: DeletionStatus::AwaitingConfirmation,
            code: ConfirmationCode::generate(),
            created_at: now,
            expires_at: now.saturating_add(window),
            task_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_match_exactly() {
        let deletion = Deletion::request(
            UserId::new_random(),
            Timestamp::from_unix_millis(0),
            std::time::Duration::from_secs(60),
        );
        let code = deletion.code.as_str().to_owned();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(deletion.code.matches(&code));
        assert!(!deletion.code.matches(&code[..5]));
        assert!(!deletion.code.matches("not it"));
        assert_eq!(deletion.expires_at.unix_millis(), 60_000);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            DeletionStatus::AwaitingConfirmation,
            DeletionStatus::InProgress,
            DeletionStatus::Completed,
            DeletionStatus::Expired,
        ] {
            assert_eq!(s.as_str().parse::<DeletionStatus>().unwrap(), s);
        }
    }
}
