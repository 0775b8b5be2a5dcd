use std::str::FromStr;

use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{DeletionId, Timestamp, UserId};

/// Where an account deletion is. `awaiting_confirmation` moves to `in_progress`
/// (confirmed in time) or `expired`; `in_progress` ends `completed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    /// Requested; the code is out, waiting for confirmation.
    AwaitingConfirmation,
    /// Confirmed; the workflow is erasing the account.
    InProgress,
    /// The account is gone.
    Completed,
    /// Not confirmed in time, or ended by wrong codes: nothing was deleted.
    Expired,
}

impl DeletionStatus {
    /// The status as the API and the stores write it.
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

/// The six-digit code the owner must send back. It travels once, in the
/// `account.deletion_requested` notification (standing in for an e-mail); the
/// store keeps only its hash, and five wrong tries end the request.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfirmationCode(String);

impl ConfirmationCode {
    /// Six random digits.
    pub fn generate() -> Self {
        Self(format!("{:06}", OsRng.next_u32() % 1_000_000))
    }

    /// The code, for the one message that carries it to the owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The code is a secret while the request waits; it never reaches a log line.
impl std::fmt::Debug for ConfirmationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmationCode(..)")
    }
}

/// What the stores keep of a code: SHA-256 over the deletion id and the code, so
/// the same code under another request hashes differently. Six digits are easy to
/// try offline; what protects them is their short life and the five tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeHash(String);

impl CodeHash {
    /// The hash of `code` for `deletion` (the id salts it, so equal codes of two requests differ).
    pub fn of(deletion: DeletionId, code: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"skiff deletion code\0");
        hash.update(deletion.to_string().as_bytes());
        hash.update(b"\0");
        hash.update(code.trim().as_bytes());
        Self(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stored hash, as read back from a store. An empty one (a request from
    /// before codes were hashed) never matches.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hash as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, deletion: DeletionId, presented: &str) -> bool {
        let expected = Self::of(deletion, presented);
        let (a, b) = (self.0.as_bytes(), expected.0.as_bytes());
        !a.is_empty()
            && a.len() == b.len()
            && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Wrong codes that end a request.
pub const MAX_WRONG_CODES: u32 = 5;

/// One deletion request: the workflow's state as the API reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Deletion {
    /// Also the workflow execution's name.
    pub id: DeletionId,
    /// The account to erase.
    pub user_id: UserId,
    /// Where the request is.
    pub status: DeletionStatus,
    /// The code's hash: the code itself is only ever in the event.
    pub code_hash: CodeHash,
    /// Wrong codes presented so far.
    pub wrong_codes: u32,
    /// When it was requested.
    pub created_at: Timestamp,
    /// When an unconfirmed request lapses.
    pub expires_at: Timestamp,
    /// The Step Functions task token of the confirmation step (AWS only): the
    /// confirm endpoint completes it.
    pub task_token: Option<String>,
}

impl Deletion {
    /// A new request and its code; only the code's hash is in the request.
    pub fn request(
        user_id: UserId,
        now: Timestamp,
        window: std::time::Duration,
    ) -> (Self, ConfirmationCode) {
        let id = DeletionId::new_random();
        let code = ConfirmationCode::generate();
        let deletion = Self {
            id,
            user_id,
            status: DeletionStatus::AwaitingConfirmation,
            code_hash: CodeHash::of(id, code.expose()),
            wrong_codes: 0,
            created_at: now,
            expires_at: now.saturating_add(window),
            task_token: None,
        };
        (deletion, code)
    }

    /// Still waiting for its code at `now`.
    pub fn is_pending(&self, now: Timestamp) -> bool {
        self.status == DeletionStatus::AwaitingConfirmation && now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_stored_only_as_hashes_that_match_exactly() {
        let (deletion, code) = Deletion::request(
            UserId::new_random(),
            Timestamp::from_unix_millis(0),
            std::time::Duration::from_secs(60),
        );
        let code = code.expose().to_owned();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(!deletion.code_hash.as_str().contains(&code));
        assert!(deletion.code_hash.matches(deletion.id, &code));
        assert!(
            deletion
                .code_hash
                .matches(deletion.id, &format!(" {code} "))
        );
        assert!(!deletion.code_hash.matches(deletion.id, &code[..5]));
        assert!(!deletion.code_hash.matches(DeletionId::new_random(), &code));
        assert!(!CodeHash::from_stored(String::new()).matches(deletion.id, &code));
        assert_eq!(deletion.expires_at.unix_millis(), 60_000);
        assert!(!format!("{:?}", ConfirmationCode(code.clone())).contains(&code));
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
