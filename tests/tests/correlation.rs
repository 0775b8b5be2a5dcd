//! Correlation across hops: the id of the request that caused work is on every log
//! line the worker, notifier and workflow write for it (and, on Lambda, on their
//! metric documents), whichever host runs them.

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{Account, PASSWORD, TestHost, eventually};
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The lines carrying `correlation_id`, with the process that wrote each.
fn lines_of(host: &TestHost, correlation_id: &str) -> Vec<(String, Value)> {
    host.log_lines()
        .into_iter()
        .filter(|(_, line)| line["correlation_id"] == correlation_id)
        .collect()
}

/// Waits until a line of `correlation_id` says `message` (and matches `also`).
async fn line_saying(
    host: &TestHost,
    correlation_id: &str,
    message: &str,
    also: impl Fn(&Value) -> bool,
) -> Value {
    let what = format!("a {message:?} line with correlation id {correlation_id}");
    eventually(&what, 30, || async {
        lines_of(host, correlation_id)
            .into_iter()
            .map(|(_, line)| line)
            .find(|line| line["message"] == message && also(line))
    })
    .await
}

async fn job_notification(host: &TestHost, account: &Account, job_id: &str) -> Value {
    eventually("the job's notification", 30, || async {
        host.notifications_of(&account.access_token, "job.succeeded")
            .await
            .into_iter()
            .find(|n| n["job_id"] == job_id)
    })
    .await
}

#[tokio::test]
async fn a_jobs_request_id_is_on_the_workers_and_the_notifiers_lines() {
    let host = TestHost::start_logged();
    let account = host.account().await;
    let correlation_id = format!("order-{}", uuid::Uuid::new_v4());
    let response = host
        .request(Method::POST, "/jobs")
        .bearer_auth(&account.access_token)
        .header("x-request-id", &correlation_id)
        .header("traceparent", TRACEPARENT)
        .json(&json!({"kind": "echo", "input": {"n": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-request-id"], correlation_id.as_str());
    let job_id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    job_notification(&host, &account, &job_id).await;

    let queued = line_saying(&host, &correlation_id, "job queued", |_| true).await;
    assert_eq!(queued["route"], "/jobs");
    let finished = line_saying(&host, &correlation_id, "job finished", |l| {
        l["job_id"] == job_id.as_str()
    })
    .await;
    let stored = line_saying(&host, &correlation_id, "notification stored", |l| {
        l["kind"] == "job.succeeded"
    })
    .await;
    for line in [&finished, &stored] {
        // The consumer's lines name it, its message and the request's trace.
        assert!(line["function_name"].is_string(), "{line}");
        assert!(line["message_id"].is_string(), "{line}");
        assert_eq!(line["traceparent"], TRACEPARENT, "{line}");
        assert!(line["service"].is_string(), "{line}");
    }
    assert_ne!(finished["function_name"], stored["function_name"]);

    // Lambda: the lines name the invocation, and so do the metric documents.
    if let Some(stdout) = host.function_stdout() {
        assert!(finished["requestId"].is_string(), "{finished}");
        let documents: Vec<Value> = stdout
            .iter()
            .filter_map(|(_, line)| serde_json::from_str::<Value>(line).ok())
            .filter(|doc| doc.get("_aws").is_some())
            .collect();
        let correlated = |metric: &str| {
            documents.iter().any(|doc| {
                doc.get(metric).is_some()
                    && (doc["correlation_id"] == correlation_id.as_str()
                        || doc["correlation_ids"]
                            .as_array()
                            .is_some_and(|ids| ids.iter().any(|id| id == &correlation_id)))
            })
        };
        assert!(correlated("JobsSubmitted"), "{documents:?}");
        assert!(correlated("JobsSucceeded"), "{documents:?}");
    }
}

#[tokio::test]
async fn work_a_request_without_an_id_causes_carries_the_id_made_for_it() {
    let host = TestHost::start_logged();
    let account = host.account().await;
    let response = host
        .post_auth(
            "/jobs",
            &account.access_token,
            &json!({"kind": "echo", "input": {}}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let correlation_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let job_id = response.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    job_notification(&host, &account, &job_id).await;
    let finished = line_saying(&host, &correlation_id, "job finished", |l| {
        l["job_id"] == job_id.as_str()
    })
    .await;
    // No traceparent came with the request, so none is made up.
    assert!(finished.get("traceparent").is_none(), "{finished}");
}

#[tokio::test]
async fn the_deletion_workflows_steps_carry_the_ids_of_the_requests_that_caused_them() {
    let host = TestHost::start_logged();
    let account = host.account().await;
    let requested = format!("delete-{}", uuid::Uuid::new_v4());
    let response = host
        .request(Method::DELETE, "/account")
        .bearer_auth(&account.access_token)
        .header("x-request-id", &requested)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let deletion_id = response.json::<Value>().await.unwrap()["deletion_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The request's own work: its confirmation step and the code's notification.
    line_saying(&host, &requested, "deletion step", |l| {
        l["step"] == "AwaitConfirmation"
    })
    .await;
    line_saying(&host, &requested, "notification stored", |l| {
        l["kind"] == "account.deletion_requested"
    })
    .await;
    let code = eventually("the deletion code", 30, || async {
        host.notifications_of(&account.access_token, "account.deletion_requested")
            .await
            .into_iter()
            .find(|n| n["deletion_id"] == deletion_id.as_str())
    })
    .await["code"]
        .as_str()
        .unwrap()
        .to_owned();

    // The erasing steps are the confirmation's work.
    let confirmed = format!("confirm-{}", uuid::Uuid::new_v4());
    let response = host
        .request(Method::POST, "/account/deletion/confirm")
        .bearer_auth(&account.access_token)
        .header("x-request-id", &confirmed)
        .json(&json!({"deletion_id": deletion_id, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    for step in ["RevokeSessions", "DeleteData", "DeleteUser"] {
        let line = line_saying(&host, &confirmed, "deletion step", |l| l["step"] == step).await;
        assert_eq!(line["deletion_id"], deletion_id.as_str(), "{line}");
    }
    let erasing: Vec<_> = lines_of(&host, &requested)
        .into_iter()
        .filter(|(_, l)| {
            l["message"] == "deletion step"
                && !matches!(
                    l["step"].as_str(),
                    Some("AwaitConfirmation" | "MarkExpired")
                )
        })
        .collect();
    assert!(
        erasing.is_empty(),
        "erasing steps under the request's id: {erasing:?}"
    );
}
