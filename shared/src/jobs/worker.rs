use std::sync::Arc;

use super::{JobContext, JobError, JobRegistry};
use crate::domain::{Event, EventDetail, Job, JobId, JobStatus};
use crate::ports::{Clock, EventPublisher, JobMessage, StoreError};
use crate::telemetry::metric;

#[derive(Debug, thiserror::Error)]
/// Why a job message goes back to the queue.
pub enum WorkerError {
    #[error(transparent)]
    /// A store failed: the message is redelivered.
    Store(#[from] StoreError),
    /// Another delivery of the same message holds the job right now.
    #[error("job {0} is being run by another delivery")]
    Busy(JobId),
    /// The attempt failed and the job has attempts left: redeliver.
    #[error("job {job_id} attempt {attempt} failed: {reason}")]
    AttemptFailed {
        /// The job.
        job_id: JobId,
        /// The attempt that failed.
        attempt: u32,
        /// What the handler said.
        reason: String,
    },
}

/// Runs one queued job per message, with at-least-once delivery underneath and an
/// exactly-once effect on top: every change is a conditional transition of the
/// job record, so a duplicate or late message changes nothing.
#[derive(Clone)]
pub struct JobWorker {
    context: JobContext,
    registry: JobRegistry,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    max_attempts: u32,
}

impl JobWorker {
    /// A worker running `registry`'s kinds with `context`, publishing outcomes to
    /// `events`, giving each job `max_attempts` attempts.
    pub fn new(
        context: JobContext,
        registry: JobRegistry,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        max_attempts: u32,
    ) -> Self {
        Self {
            context,
            registry,
            events,
            clock,
            max_attempts: max_attempts.max(1),
        }
    }

    /// `Ok` means "delete the message"; `Err` means "leave it for redelivery".
    pub async fn handle(&self, message: JobMessage) -> Result<(), WorkerError> {
        let jobs = &self.context.stores.jobs;
        let Some(job) = jobs.get(message.user_id, message.job_id).await? else {
            // Deleted with its account: nothing left to do.
            tracing::info!(job_id = %message.job_id, "job no longer exists; message dropped");
            return Ok(());
        };
        if job.status.is_finished() {
            // A redelivery. The event may not have gone out the first time (the
            // process died after the write); publishing it again is harmless,
            // because notifications are keyed by the event.
            tracing::info!(job_id = %job.id, status = job.status.as_str(), "job already finished; duplicate message");
            return self.publish_outcome(&job).await;
        }
        if job.attempts >= self.max_attempts {
            // Earlier attempts died without recording an outcome.
            let reason = format!("gave up after {} attempts", job.attempts);
            return self.finish(&job, Err(JobError::Permanent(reason))).await;
        }
        let now = self.clock.now();
        let running = match job.start_attempt(now) {
            Ok(running) => running,
            Err(_) => return Ok(()),
        };
        if !jobs.transition(&job, &running).await? {
            return Err(WorkerError::Busy(job.id));
        }
        tracing::info!(job_id = %job.id, kind = %job.kind, attempt = running.attempts, "job attempt started");
        let outcome = match self.registry.get(&running.kind) {
            Some(handler) => handler.run(&self.context, &running).await,
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {}",
                running.kind
            ))),
        };
        self.finish(&running, outcome).await
    }

    async fn finish(
        &self,
        job: &Job,
        outcome: Result<serde_json::Value, JobError>,
    ) -> Result<(), WorkerError> {
        let now = self.clock.now();
        let next = match outcome {
            Ok(result) => job.succeed(result, now),
            Err(JobError::Retryable(reason)) if job.attempts < self.max_attempts => {
                metric::count(metric::JOBS_RETRIED);
                return Err(WorkerError::AttemptFailed {
                    job_id: job.id,
                    attempt: job.attempts,
                    reason,
                });
            }
            Err(JobError::Retryable(reason) | JobError::Permanent(reason)) => job.fail(reason, now),
        };
        let Ok(next) = next else {
            return Ok(());
        };
        if !self.context.stores.jobs.transition(job, &next).await? {
            // Another delivery recorded an outcome first; its effect stands.
            tracing::info!(job_id = %job.id, "job outcome already recorded by another delivery");
            return Ok(());
        }
        tracing::info!(job_id = %job.id, status = next.status.as_str(), attempts = next.attempts, "job finished");
        metric::count(if next.status == JobStatus::Succeeded {
            metric::JOBS_SUCCEEDED
        } else {
            metric::JOBS_FAILED
        });
        self.publish_outcome(&next).await
    }

    async fn publish_outcome(&self, job: &Job) -> Result<(), WorkerError> {
        let detail = match job.status {
            JobStatus::Succeeded => EventDetail::JobSucceeded { job_id: job.id },
            JobStatus::Failed => EventDetail::JobFailed {
                job_id: job.id,
                error: job.error.clone().unwrap_or_default(),
            },
            JobStatus::Queued | JobStatus::Running => return Ok(()),
        };
        let event = Event::new(job.user_id, job.updated_at, detail);
        self.events.publish(&event).await.map_err(WorkerError::from)
    }
}
