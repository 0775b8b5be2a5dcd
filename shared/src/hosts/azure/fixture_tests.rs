//! The queue functions against documented host payloads (`events/azure/`), on
//! Azurite: what the host sends, what the handler answers, what it changed.

use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::triggers::{QueueFunctions, router};
use crate::adapters::azure::test_support;
use crate::config::WorkSettings;
use crate::domain::{CodeHash, Deletion, DeletionStatus, Event, Job, JobInput, Timestamp, UserId};
use crate::hosts::notifier;
use crate::jobs::JobRegistry;
use crate::ports::{Stores, conformance};

fn fixture(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/azure")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The ids a fixture's message names.
fn message_of(path: &str) -> Value {
    let invocation: Value = serde_json::from_str(&fixture(path)).unwrap();
    serde_json::from_str(invocation["Data"]["message"].as_str().unwrap()).unwrap()
}

fn id<T: std::str::FromStr>(value: &Value) -> T
where
    T::Err: std::fmt::Debug,
{
    value.as_str().unwrap().parse().unwrap()
}

async fn functions() -> (Stores, axum::Router) {
    let stores = Stores::from_one(test_support::store().await);
    let app = QueueFunctions {
        stores: stores.clone(),
        registry: JobRegistry::builtin(),
        work: WorkSettings {
            job_max_attempts: 3,
            batch_concurrency: 4,
            deletion_window: std::time::Duration::from_secs(60),
        },
        jobs: Arc::new(test_support::queue().await),
        notifier: notifier(&stores),
    };
    (stores, router(app))
}

async fn invoke(router: &axum::Router, function: &str, path: &str) -> (StatusCode, Value) {
    let request = Request::post(format!("/{function}"))
        .header("content-type", "application/json")
        .body(Body::from(fixture(path)))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// Creates the queued echo job (and its owner) a worker fixture names.
async fn queued_job(stores: &Stores, path: &str) -> Job {
    let message = message_of(path);
    let owner: UserId = id(&message["user_id"]);
    let mut job = Job::queued(
        owner,
        "echo".parse().unwrap(),
        JobInput::parse(serde_json::json!({"n": 1})).unwrap(),
        Timestamp::now(),
    );
    job.id = id(&message["job_id"]);
    stores.jobs.create(&job).await.unwrap();
    job
}

#[tokio::test]
async fn the_worker_runs_the_job_and_hands_its_event_to_the_output_binding() {
    let (stores, router) = functions().await;
    for path in ["worker/echo-job.json", "worker/echo-job-documented.json"] {
        let job = queued_job(&stores, path).await;
        let (status, body) = invoke(&router, "worker", path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let events = body["Outputs"]["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{body}");
        let event: Event = serde_json::from_str(events[0].as_str().unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&event).unwrap()["type"],
            "job.succeeded"
        );
        let stored = stores.jobs.get(job.user_id, job.id).await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), "succeeded");
        assert_eq!(body["ReturnValue"], Value::Null);
    }
}

#[tokio::test]
async fn a_malformed_message_fails_so_the_host_retries_then_poisons_it() {
    let (_, router) = functions().await;
    let (status, body) = invoke(&router, "worker", "worker/not-a-job.json").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body["Logs"][0]
            .as_str()
            .unwrap()
            .contains("malformed worker message"),
        "{body}"
    );
    assert_eq!(body["Outputs"], serde_json::json!({}));
}

#[tokio::test]
async fn the_notifier_stores_one_notification_per_true_event() {
    let (stores, router) = functions().await;
    let event = message_of("notifier/job-succeeded.json");
    let owner: UserId = id(&event["user_id"]);
    // No such job yet: an event nobody published is acknowledged and stores nothing.
    let (status, _) = invoke(&router, "notifier", "notifier/job-succeeded.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        stores
            .notifications
            .list(owner, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let mut job = Job::queued(
        owner,
        "echo".parse().unwrap(),
        JobInput::parse(serde_json::json!({})).unwrap(),
        Timestamp::now(),
    );
    job.id = id(&event["job_id"]);
    job.status = crate::domain::JobStatus::Succeeded;
    stores.jobs.create(&job).await.unwrap();
    for _ in 0..2 {
        let (status, body) = invoke(&router, "notifier", "notifier/job-succeeded.json").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(stores.notifications.list(owner, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_step_for_an_unconfirmed_deletion_deletes_nothing() {
    let (stores, router) = functions().await;
    let message = message_of("workflow/delete-data-unconfirmed.json");
    let mut owner = conformance::user(&conformance::unique_email());
    owner.id = id(&message["user_id"]);
    stores.users.create(&owner).await.unwrap();
    let deletion = Deletion {
        id: id(&message["deletion_id"]),
        user_id: owner.id,
        status: DeletionStatus::AwaitingConfirmation,
        code_hash: CodeHash::of(id(&message["deletion_id"]), "123456"),
        wrong_codes: 0,
        created_at: Timestamp::now(),
        expires_at: Timestamp::now().saturating_add(std::time::Duration::from_secs(60)),
        task_token: None,
    };
    stores
        .deletions
        .create(&deletion, Timestamp::now())
        .await
        .unwrap();
    let (status, body) = invoke(&router, "workflow", "workflow/delete-data-unconfirmed.json").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body["Logs"][0].as_str().unwrap().contains("not confirmed"),
        "{body}"
    );
    assert!(stores.users.find_by_id(owner.id).await.unwrap().is_some());
}
