use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JobId, Timestamp, UserId};

/// A job kind's name as a client sends it: 1..=64 of `[a-z0-9_.-]`. Whether a
/// kind with this name exists is the registry's call, not the parser's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct JobKind(String);

impl<'de> Deserialize<'de> for JobKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a job kind is 1 to 64 characters of a-z, 0-9, '_', '.' or '-'")]
pub struct JobKindError;

impl JobKind {
    /// Parses a name; see the type's rules.
    pub fn parse(name: &str) -> Result<Self, JobKindError> {
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(JobKindError)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for JobKind {
    type Err = JobKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job's input: any JSON value whose serialised form fits the contract's 16 KiB.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct JobInput(Value);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the job input is {0} bytes; the limit is 16 KiB")]
/// A job input over [`JobInput::MAX_BYTES`]; holds the size it had.
pub struct JobInputTooLarge(pub usize);

impl JobInput {
    /// The largest serialised input accepted: a job input travels in queue messages
    /// and store items, both of which have small limits.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Checks the size.
    pub fn parse(value: Value) -> Result<Self, JobInputTooLarge> {
        let size = value.to_string().len();
        if size > Self::MAX_BYTES {
            return Err(JobInputTooLarge(size));
        }
        Ok(Self(value))
    }

    /// The JSON value.
    pub fn as_value(&self) -> &Value {
        &self.0
    }
}

/// Where a job is in its life. Status only moves forward:
/// `queued → running → succeeded | failed` (running may repeat, one per attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Accepted and waiting in the queue.
    Queued,
    /// An attempt is under way (or died; the message comes back).
    Running,
    /// Finished with a result.
    Succeeded,
    /// Finished with an error, after a permanent failure or its last attempt.
    Failed,
}

impl JobStatus {
    /// The status as the API and the stores write it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    /// Whether the job can no longer change.
    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown job status {0:?}")]
pub struct UnknownJobStatus(String);

impl FromStr for JobStatus {
    type Err = UnknownJobStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            other => return Err(UnknownJobStatus(other.to_owned())),
        })
    }
}

/// One job record. Its transitions are methods here, so no store or worker can
/// move a job backwards; stores write a transition only if the stored
/// `(status, attempts)` still equal the ones it was computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// Time-ordered, so a user's jobs list newest first by id.
    pub id: JobId,
    /// The owner: only they can read it.
    pub user_id: UserId,
    /// Which handler runs it.
    pub kind: JobKind,
    /// What the client submitted.
    pub input: JobInput,
    /// Where it is in its life.
    pub status: JobStatus,
    /// The handler's result, once succeeded.
    pub result: Option<Value>,
    /// Why it failed, once failed; safe to show its owner.
    pub error: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was accepted.
    pub created_at: Timestamp,
    /// When its status last changed.
    pub updated_at: Timestamp,
}

/// The job is finished (or already past this attempt): the message that asked for
/// it is a duplicate and must change nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("job {0} is already {1}")]
pub struct AlreadyFinished(pub JobId, pub &'static str);

impl Job {
    /// A new job, waiting to be queued.
    pub fn queued(user_id: UserId, kind: JobKind, input: JobInput, now: Timestamp) -> Self {
        Self {
            id: JobId::new_time_ordered(),
            user_id,
            kind,
            input,
            status: JobStatus::Queued,
            result: None,
            error: None,
            attempts: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// The next attempt: `running`, attempts + 1.
    pub fn start_attempt(&self, now: Timestamp) -> Result<Job, AlreadyFinished> {
        self.unfinished()?;
        Ok(Job {
            status: JobStatus::Running,
            attempts: self.attempts.saturating_add(1),
            updated_at: now,
            ..self.clone()
        })
    }

    /// The job finished with `result`.
    pub fn succeed(&self, result: Value, now: Timestamp) -> Result<Job, AlreadyFinished> {
        self.unfinished()?;
        Ok(Job {
            status: JobStatus::Succeeded,
            result: Some(result),
            error: None,
            updated_at: now,
            ..self.clone()
        })
    }

    /// The job failed for good with `error`.
    pub fn fail(&self, error: String, now: Timestamp) -> Result<Job, AlreadyFinished> {
        self.unfinished()?;
        Ok(Job {
            status: JobStatus::Failed,
            error: Some(error),
            updated_at: now,
            ..self.clone()
        })
    }

    fn unfinished(&self) -> Result<(), AlreadyFinished> {
        if self.status.is_finished() {
            Err(AlreadyFinished(self.id, self.status.as_str()))
        } else {
            Ok(())
        }
    }
}

/// The `Idempotency-Key` header: 1..=255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    /// Parses a key: 1 to 255 visible ASCII characters.
    pub fn parse(value: &str) -> Result<Self, IdempotencyKeyError> {
        if (1..=255).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(value.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job() -> Job {
        Job::queued(
            UserId::new_random(),
            JobKind::parse("echo").unwrap(),
            JobInput::parse(json!({"a": 1})).unwrap(),
            Timestamp::from_unix_millis(1),
        )
    }

    #[test]
    fn kinds_and_keys_parse_at_the_edge() {
        assert!(JobKind::parse("echo").is_ok());
        assert!(JobKind::parse("Echo").is_err());
        assert!(JobKind::parse("").is_err());
        assert!(JobKind::parse(&"a".repeat(65)).is_err());
        assert!(IdempotencyKey::parse("k-1").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn input_is_limited_to_16_kib() {
        assert!(JobInput::parse(json!("x".repeat(16 * 1024 - 2))).is_ok());
        assert_eq!(
            JobInput::parse(json!("x".repeat(16 * 1024))),
            Err(JobInputTooLarge(16 * 1024 + 2))
        );
    }

    #[test]
    fn status_only_moves_forward() {
        let now = Timestamp::from_unix_millis(2);
        let running = job().start_attempt(now).unwrap();
        assert_eq!((running.status, running.attempts), (JobStatus::Running, 1));
        let again = running.start_attempt(now).unwrap();
        assert_eq!(again.attempts, 2);
        let done = again.succeed(json!(1), now).unwrap();
        assert!(done.start_attempt(now).is_err());
        assert!(done.fail("x".into(), now).is_err());
        assert!(done.succeed(json!(2), now).is_err());
        let failed = running.fail("boom".into(), now).unwrap();
        assert_eq!(failed.error.as_deref(), Some("boom"));
        assert!(failed.start_attempt(now).is_err());
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
        ] {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), s);
        }
        assert!("done".parse::<JobStatus>().is_err());
    }
}
