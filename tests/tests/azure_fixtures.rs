//! The queue functions against documented host payloads (`events/azure/`), on
//! Azurite: what the host sends, what the handler answers, what it changed.

use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use skiff::adapters::azure::{StorageAccount, StorageClient, StorageQueue, Table, TableStore};
use skiff::auth::{KeyRing, generate_private_key_pem};
use skiff::config::WorkSettings;
use skiff::domain::{
    CodeHash, Deletion, DeletionStatus, Email, Event, Job, JobInput, Timestamp, UserId,
};
use skiff::hosts::azure::{MessageSeal, QueueFunctions, queue_functions_router as router};
use skiff::hosts::notifier;
use skiff::jobs::JobRegistry;
use skiff::ports::{Login, Stores, User};

/// Azurite, as `tests/run` names it in `SKIFF_TEST_AZURE_STORAGE`.
fn client() -> StorageClient {
    let connection = std::env::var("SKIFF_TEST_AZURE_STORAGE")
        .expect("SKIFF_TEST_AZURE_STORAGE is unset: run the tests with `make test`");
    StorageClient::new(StorageAccount::parse(&connection).expect("connection string"))
        .expect("storage client")
}

/// A store on a table of its own.
async fn store() -> TableStore {
    let table = Table::new(
        client(),
        format!("fixtures{}", uuid::Uuid::new_v4().simple()),
    );
    table.create_if_missing().await.expect("create table");
    TableStore::new(table)
}

/// A fresh queue with a unique name.
async fn queue() -> StorageQueue {
    let queue = StorageQueue::new(client(), format!("q-{}", uuid::Uuid::new_v4().simple()));
    queue.create_if_missing().await.expect("create queue");
    queue
}

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

/// The seal of the handler under test: messages the host delivers were written
/// (and sealed) by the handler itself.
fn seal() -> &'static MessageSeal {
    static SEAL: std::sync::OnceLock<MessageSeal> = std::sync::OnceLock::new();
    SEAL.get_or_init(|| {
        let keys = KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap();
        MessageSeal::new(&keys)
    })
}

async fn functions() -> (Stores, axum::Router) {
    let stores = Stores::from_one(store().await);
    let context = skiff::jobs::JobContext::new(
        stores.clone(),
        skiff::domain::SessionPolicy {
            idle_timeout: std::time::Duration::from_secs(60),
            absolute_lifetime: std::time::Duration::from_secs(600),
        },
        Arc::new(skiff::ports::SystemClock),
    );
    let app = QueueFunctions {
        context: context.clone(),
        registry: JobRegistry::builtin(),
        work: WorkSettings {
            job_max_attempts: 3,
            batch_concurrency: 4,
            deletion_window: std::time::Duration::from_secs(60),
        },
        jobs: Arc::new(queue().await),
        notifier: notifier(context, &skiff::app::App::new()),
        seal: seal().clone(),
    };
    (stores, router(app))
}

/// Invokes `function` with the fixture's payload, its message sealed as the
/// handler seals what it writes.
async fn invoke(router: &axum::Router, function: &str, path: &str) -> (StatusCode, Value) {
    let mut invocation: Value = serde_json::from_str(&fixture(path)).unwrap();
    let text = invocation["Data"]["message"].as_str().unwrap().to_owned();
    invocation["Data"]["message"] = seal().seal(&text).into();
    send(router, function, invocation.to_string()).await
}

async fn send(router: &axum::Router, function: &str, body: String) -> (StatusCode, Value) {
    let request = Request::post(format!("/{function}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
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
        let sealed = events[0].as_str().unwrap();
        let event: Event = serde_json::from_str(&seal().open(sealed).unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&event).unwrap()["type"],
            "job.succeeded"
        );
        let stored = stores.jobs.get(job.user_id, job.id).await.unwrap().unwrap();
        assert_eq!(stored.status.as_str(), "succeeded");
        assert_eq!(body["ReturnValue"], Value::Null);
    }
}

/// Bad trigger input is refused (400, so the host retries and then poisons it),
/// never a 500, and shows no Outputs or Logs.
#[tokio::test]
async fn a_malformed_message_is_refused_so_the_host_retries_then_poisons_it() {
    let (_, router) = functions().await;
    let (status, body) = invoke(&router, "worker", "worker/not-a-job.json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["type"], "/problems/invalid-request");
    assert!(
        body.get("Outputs").is_none() && body.get("Logs").is_none(),
        "{body}"
    );
}

/// What a client's `POST /worker` is, forwarded at its own path: a well-formed
/// invocation of an unsealed message, or no invocation at all. The 404 of any
/// unknown path, and nothing runs.
#[tokio::test]
async fn unsealed_messages_and_other_bodies_get_the_404_of_an_unknown_path() {
    let (stores, router) = functions().await;
    // A queued job of its own (the fixtures' ids are shared by the other tests),
    // and the invocation the host would send for it, unsealed.
    let owner = UserId::new_random();
    let job = Job::queued(
        owner,
        "echo".parse().unwrap(),
        JobInput::parse(serde_json::json!({"n": 1})).unwrap(),
        Timestamp::now(),
    );
    stores.jobs.create(&job).await.unwrap();
    let message = serde_json::json!({"job_id": job.id, "user_id": owner}).to_string();
    let unsealed = serde_json::json!({"Data": {"message": message}, "Metadata": {}}).to_string();
    for function in ["worker", "notifier", "workflow"] {
        for body in [
            unsealed.clone(),
            "not json".to_owned(),
            "{}".to_owned(),
            String::new(),
        ] {
            let (status, answer) = send(&router, function, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{function}: {answer}");
            assert_eq!(answer["type"], "/problems/not-found");
            assert!(answer.get("Outputs").is_none() && answer.get("Logs").is_none());
        }
    }
    let stored = stores.jobs.get(job.user_id, job.id).await.unwrap().unwrap();
    assert_eq!(
        stored.status.as_str(),
        "queued",
        "a forged message ran a job"
    );
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
    job.status = skiff::domain::JobStatus::Succeeded;
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
    let mut owner = User {
        id: UserId::new_random(),
        login: Login::Password {
            email: Email::parse(&format!("{}@example.com", uuid::Uuid::new_v4().simple())).unwrap(),
            password_hash: "$argon2id$fake".into(),
        },
        created_at: Timestamp::from_unix_millis(1_000),
        deleting: false,
    };
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
