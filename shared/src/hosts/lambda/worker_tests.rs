//! The worker function's batch handling against moto: partial batch failures,
//! duplicate deliveries, retries up to the last attempt, and poison messages
//! redriven to the DLQ by the queue itself.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use super::moto_sdk::moto_sdk;
use super::sqs::handle_batch;
use crate::adapters::aws_messaging::SnsEventPublisher;
use crate::adapters::dynamodb::test_support::store;
use crate::batch::BatchProcessor;
use crate::domain::{Job, JobInput, JobKind, JobStatus, Timestamp, UserId};
use crate::jobs::{JobContext, JobError, JobHandler, JobRegistry, JobWorker};
use crate::ports::{JobMessage, Stores, SystemClock};

const MAX_ATTEMPTS: u32 = 3;

/// Fails until its last attempt.
struct Flaky;

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, _: &JobContext, job: &Job) -> Result<Value, JobError> {
        if job.attempts < MAX_ATTEMPTS {
            Err(JobError::Retryable(format!(
                "attempt {} failed",
                job.attempts
            )))
        } else {
            Ok(json!({"succeeded_on": job.attempts}))
        }
    }
}

/// Never succeeds.
struct Broken;

#[async_trait]
impl JobHandler for Broken {
    async fn run(&self, _: &JobContext, _: &Job) -> Result<Value, JobError> {
        Err(JobError::Retryable("the backend is down".into()))
    }
}

struct Harness {
    stores: Stores,
    worker: JobWorker,
    user: UserId,
}

impl Harness {
    async fn new() -> Self {
        let sdk = moto_sdk();
        let stores = Stores::from_one(store().await);
        let topic = aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name(format!(
                "skiff-test-events-{}",
                uuid::Uuid::new_v4().simple()
            ))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let registry = JobRegistry::builtin()
            .register("flaky", Flaky)
            .register("broken", Broken);
        let worker = JobWorker::new(
            JobContext::new(
                stores.clone(),
                crate::domain::SessionPolicy {
                    idle_timeout: std::time::Duration::from_secs(60),
                    absolute_lifetime: std::time::Duration::from_secs(600),
                },
                Arc::new(SystemClock),
            ),
            registry,
            Arc::new(SnsEventPublisher::new(
                aws_sdk_sns::Client::new(&sdk),
                topic,
            )),
            Arc::new(SystemClock),
            MAX_ATTEMPTS,
        );
        Self {
            stores,
            worker,
            user: UserId::new_random(),
        }
    }

    async fn job(&self, kind: &str) -> Job {
        let job = Job::queued(
            self.user,
            JobKind::parse(kind).unwrap(),
            JobInput::parse(json!({"kind": kind})).unwrap(),
            Timestamp::now(),
        );
        self.stores.jobs.create(&job).await.unwrap();
        job
    }

    async fn reload(&self, job: &Job) -> Job {
        self.stores
            .jobs
            .get(self.user, job.id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Delivers `(message id, body)` records as one SQS batch; returns the failed ids.
    async fn deliver(&self, records: &[(&str, String)]) -> Vec<String> {
        let event: SqsEvent = serde_json::from_value(json!({
            "Records": records.iter().map(|(id, body)| json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": "us-east-1"
            })).collect::<Vec<_>>()
        }))
        .unwrap();
        let worker = self.worker.clone();
        let response = handle_batch(event, BatchProcessor::new(4), move |m: JobMessage| {
            let worker = worker.clone();
            async move { worker.handle(m).await }
        })
        .await;
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }
}

fn message(job: &Job) -> String {
    json!({"job_id": job.id, "user_id": job.user_id}).to_string()
}

#[tokio::test]
async fn a_batch_reports_only_its_failed_records() {
    let h = Harness::new().await;
    let (echo, broken) = (h.job("echo").await, h.job("broken").await);
    let gone = json!({"job_id": "0190c1d2-0000-7000-8000-000000000000", "user_id": h.user});
    let failed = h
        .deliver(&[
            ("ok", message(&echo)),
            ("retry", message(&broken)),
            ("poison", "{not json".into()),
            ("gone", gone.to_string()),
        ])
        .await;
    assert_eq!(failed, ["retry", "poison"]);
    let echo = h.reload(&echo).await;
    assert_eq!((echo.status, echo.attempts), (JobStatus::Succeeded, 1));
    assert_eq!(echo.result, Some(json!({"kind": "echo"})));
    let broken = h.reload(&broken).await;
    assert_eq!((broken.status, broken.attempts), (JobStatus::Running, 1));
}

#[tokio::test]
async fn a_redelivered_message_changes_nothing() {
    let h = Harness::new().await;
    let job = h.job("echo").await;
    // Two copies in one batch (SQS is at-least-once): one runs, the other either
    // finds it finished or reports itself for a later redelivery.
    h.deliver(&[("a", message(&job)), ("b", message(&job))])
        .await;
    let done = h.reload(&job).await;
    assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 1));
    // A late redelivery succeeds (the message is deleted) and writes nothing.
    assert!(h.deliver(&[("c", message(&job))]).await.is_empty());
    assert_eq!(h.reload(&job).await, done);
}

#[tokio::test]
async fn a_job_that_fails_until_its_last_attempt_succeeds_on_it() {
    let h = Harness::new().await;
    let job = h.job("flaky").await;
    assert_eq!(h.deliver(&[("1", message(&job))]).await, ["1"]);
    assert_eq!(h.deliver(&[("2", message(&job))]).await, ["2"]);
    assert!(h.deliver(&[("3", message(&job))]).await.is_empty());
    let job = h.reload(&job).await;
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Succeeded, MAX_ATTEMPTS)
    );
    assert_eq!(job.result, Some(json!({"succeeded_on": 3})));
}

#[tokio::test]
async fn a_job_that_keeps_failing_ends_failed_and_holds_nothing_up() {
    let h = Harness::new().await;
    let (broken, echo) = (h.job("broken").await, h.job("echo").await);
    assert_eq!(
        h.deliver(&[("b1", message(&broken)), ("e", message(&echo))])
            .await,
        ["b1"]
    );
    assert_eq!(h.reload(&echo).await.status, JobStatus::Succeeded);
    assert_eq!(h.deliver(&[("b2", message(&broken))]).await, ["b2"]);
    // The last attempt records the failure, so the message is done with.
    assert!(h.deliver(&[("b3", message(&broken))]).await.is_empty());
    let failed = h.reload(&broken).await;
    assert_eq!(
        (failed.status, failed.attempts),
        (JobStatus::Failed, MAX_ATTEMPTS)
    );
    assert_eq!(failed.error.as_deref(), Some("the backend is down"));
    assert!(h.deliver(&[("b4", message(&broken))]).await.is_empty());
    assert_eq!(h.reload(&broken).await, failed);
}

/// What Lambda's event-source mapping does, against a real moto queue whose
/// redrive policy moves a message to the DLQ after two receives.
#[tokio::test]
async fn poison_messages_reach_the_dlq_and_good_ones_run_once() {
    let h = Harness::new().await;
    let sqs = aws_sdk_sqs::Client::new(&moto_sdk());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("skiff-test-dlq-{unique}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = format!("arn:aws:sqs:us-east-1:123456789012:skiff-test-dlq-{unique}");
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("skiff-test-jobs-{unique}"))
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let job = h.job("echo").await;
    for body in ["this is not a job".to_owned(), message(&job)] {
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    for _ in 0..10 {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            break;
        }
        let records: Vec<(&str, String)> = received
            .iter()
            .map(|m| (m.message_id().unwrap(), m.body().unwrap().to_owned()))
            .collect();
        let failed = h.deliver(&records).await;
        for m in &received {
            if !failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    let dead: Vec<String> = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect();
    assert_eq!(dead, ["this is not a job"]);
    let job = h.reload(&job).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 1));
}
