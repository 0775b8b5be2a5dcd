use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobRegistry;
use crate::domain::{IdempotencyKey, Job, JobId, JobInput, JobKind, UserId};
use crate::error::Error;
use crate::idempotency::{Idempotency, IdempotencyError};
use crate::ports::{Clock, JobMessage, JobQueue, JobStore};
use crate::telemetry::metric;

/// `POST /jobs` as the client sends it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitJob {
    /// The job kind's name.
    pub kind: String,
    /// The kind's input, at most [`JobInput::MAX_BYTES`].
    pub input: Value,
}

/// One page of `GET /jobs`, newest first.
#[derive(Clone, Debug)]
pub struct JobPage {
    /// The jobs of this page.
    pub jobs: Vec<Job>,
    /// The opaque cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A job just accepted: what `POST /jobs` answers (202).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// The new job's id.
    pub job_id: JobId,
    /// Its kind.
    pub kind: JobKind,
    /// Always `queued` when first answered.
    pub status: crate::domain::JobStatus,
    /// When it was accepted.
    pub created_at: crate::domain::Timestamp,
}

/// How an idempotent submission that gave no job is answered.
fn from_idempotency(error: IdempotencyError<Error>) -> Error {
    match error {
        IdempotencyError::PayloadMismatch => Error::Unprocessable(
            "this Idempotency-Key was already used with a different request body",
        ),
        IdempotencyError::InProgress => Error::Conflict(
            "a request with this Idempotency-Key is still in progress; retry shortly",
        ),
        IdempotencyError::Store(e) => Error::Unavailable(e),
        IdempotencyError::Work(e) => e,
    }
}

/// Submits, reads and lists jobs; built only from ports.
#[derive(Clone)]
pub struct JobService {
    jobs: Arc<dyn JobStore>,
    queue: Arc<dyn JobQueue>,
    registry: JobRegistry,
    idempotency: Idempotency,
    clock: Arc<dyn Clock>,
}

impl JobService {
    /// Jobs per page when the client does not say.
    pub const DEFAULT_PAGE: usize = 20;
    /// The most jobs one page holds.
    pub const MAX_PAGE: usize = 100;

    /// Jobs in `jobs`, queued on `queue`, of `registry`'s kinds.
    pub fn new(
        jobs: Arc<dyn JobStore>,
        queue: Arc<dyn JobQueue>,
        registry: JobRegistry,
        idempotency: Idempotency,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            jobs,
            queue,
            registry,
            idempotency,
            clock,
        }
    }

    /// Creates and queues a job, or with an idempotency key answers a repeat with
    /// the first answer. Returns the 202 body.
    pub async fn submit(
        &self,
        user: UserId,
        request: SubmitJob,
        key: Option<IdempotencyKey>,
    ) -> Result<SubmittedJob, Error> {
        let known = JobKind::parse(&request.kind)
            .ok()
            .and_then(|kind| self.registry.get(&kind).map(|handler| (kind, handler)));
        let Some((kind, handler)) = known else {
            return Err(Error::invalid(format!(
                "unknown job kind; known kinds: {}",
                self.registry.names().join(", ")
            )));
        };
        let input = JobInput::parse(request.input.clone())
            .map_err(|e| Error::PayloadTooLarge(e.to_string()))?;
        handler
            .validate(input.as_value())
            .map_err(|reason| Error::invalid(format!("invalid input: {reason}")))?;
        let Some(key) = key else {
            return self.create_and_enqueue(user, kind, input).await;
        };
        let scoped = format!("jobs:{user}:{}", key.as_str());
        self.idempotency
            .run(&scoped, &request, || {
                self.create_and_enqueue(user, kind, input)
            })
            .await
            .map_err(from_idempotency)
    }

    /// Runs `submit` (which submits a job, without a key of its own) at most once per
    /// `key` for `user` in `scope`, and answers a repeat with the first job, whatever
    /// has changed since. For a route whose job input is read from state that the
    /// job itself changes, as a checkout that empties the cart it was read from: keyed
    /// on the input, a retry after the job ran would read the changed state and be
    /// refused instead of answered. The route has no body, so the key alone decides;
    /// a failed `submit` frees the key. `scope` (the route's name) keeps its keys
    /// apart from other routes' and from `POST /jobs`'s, which use `jobs`.
    pub async fn submit_once<F, Fut>(
        &self,
        user: UserId,
        scope: &str,
        key: &IdempotencyKey,
        submit: F,
    ) -> Result<SubmittedJob, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SubmittedJob, Error>>,
    {
        let scoped = format!("{scope}:{user}:{}", key.as_str());
        self.idempotency
            .run(&scoped, &(), submit)
            .await
            .map_err(from_idempotency)
    }

    async fn create_and_enqueue(
        &self,
        user: UserId,
        kind: JobKind,
        input: JobInput,
    ) -> Result<SubmittedJob, Error> {
        let job = Job::queued(user, kind, input, self.clock.now());
        self.jobs.create(&job).await?;
        let message = JobMessage {
            job_id: job.id,
            user_id: user,
        };
        if let Err(e) = self.queue.enqueue(&message).await {
            // The job exists but will never run: say so on the record rather than
            // leave it queued forever. Best effort; the client sees a 503 either way.
            if let Ok(failed) = job.fail("the job could not be queued".into(), self.clock.now()) {
                let _ = self.jobs.transition(&job, &failed).await;
            }
            return Err(e.into());
        }
        tracing::info!(job_id = %job.id, kind = %job.kind, "job queued");
        metric::count(metric::JOBS_SUBMITTED);
        Ok(SubmittedJob {
            job_id: job.id,
            kind: job.kind,
            status: job.status,
            created_at: job.created_at,
        })
    }

    /// The caller's job; another user's is not found.
    pub async fn get(&self, user: UserId, id: JobId) -> Result<Job, Error> {
        self.jobs.get(user, id).await?.ok_or(Error::NotFound)
    }

    /// The caller's jobs, newest first, `limit` (1 to [`MAX_PAGE`](Self::MAX_PAGE)) at a time
    /// after the page `cursor` ended.
    pub async fn list(
        &self,
        user: UserId,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<JobPage, Error> {
        let limit = limit.unwrap_or(Self::DEFAULT_PAGE);
        if !(1..=Self::MAX_PAGE).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit must be between 1 and {}",
                Self::MAX_PAGE
            )));
        }
        let before = cursor.map(decode_cursor).transpose()?;
        let mut jobs = self.jobs.list(user, limit + 1, before).await?;
        let next_cursor = if jobs.len() > limit {
            jobs.truncate(limit);
            jobs.last().map(|j| encode_cursor(j.id))
        } else {
            None
        };
        Ok(JobPage { jobs, next_cursor })
    }
}

/// Cursors are opaque to clients: the last job id, base64url-encoded.
fn encode_cursor(id: JobId) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_cursor(cursor: &str) -> Result<JobId, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| Error::invalid("cursor is not one this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = JobId::new_time_ordered();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("not-an-id")).is_err());
    }
}
