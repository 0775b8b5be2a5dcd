//! Jobs: submit with Idempotency-Key, read, list with cursors, the built-in kinds,
//! and the notifications their outcomes produce.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use skiff_contract_tests::{
    Account, TestHost, assert_problem, assert_unauthorized, comparable_time, eventually,
};

async fn submit(host: &TestHost, account: &Account, body: &Value, key: Option<&str>) -> Response {
    let mut request = host
        .request(Method::POST, "/jobs")
        .bearer_auth(&account.access_token)
        .json(body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

async fn accepted(response: Response) -> Value {
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/jobs/{}", body["job_id"].as_str().unwrap())
    );
    body
}

/// Waits until the job has finished and returns it.
async fn finished(host: &TestHost, account: &Account, job_id: &str) -> Value {
    let path = format!("/jobs/{job_id}");
    eventually("the job to finish", 30, || async {
        let job = host.get_json_auth(&path, &account.access_token).await;
        matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
    })
    .await
}

#[tokio::test]
async fn an_echo_job_runs_once_and_notifies_its_owner() {
    let host = TestHost::start();
    let account = host.account().await;
    let input = json!({"greeting": "hello", "n": [1, 2, 3]});
    let queued = accepted(
        submit(
            &host,
            &account,
            &json!({"kind": "echo", "input": input}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(queued["status"], "queued");
    assert_eq!(queued["kind"], "echo");
    assert!(queued["created_at"].as_str().unwrap().ends_with('Z'));

    let job_id = queued["job_id"].as_str().unwrap();
    let job = finished(&host, &account, job_id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["result"], input);
    assert_eq!(job["attempts"], 1);
    assert!(job.get("error").is_none());
    assert!(
        comparable_time(job["updated_at"].as_str().unwrap())
            >= comparable_time(job["created_at"].as_str().unwrap())
    );

    let notice = eventually("a job.succeeded notification", 30, || async {
        host.notifications_of(&account.access_token, "job.succeeded")
            .await
            .into_iter()
            .find(|n| n["job_id"] == job_id)
    })
    .await;
    assert!(
        notice["id"].is_string() && notice["created_at"].is_string(),
        "{notice}"
    );
}

#[tokio::test]
async fn an_export_holds_the_account_without_secrets() {
    let host = TestHost::start();
    let account = host.account().await;
    let echo =
        accepted(submit(&host, &account, &json!({"kind": "echo", "input": 1}), None).await).await;
    finished(&host, &account, echo["job_id"].as_str().unwrap()).await;
    let export = accepted(
        submit(
            &host,
            &account,
            &json!({"kind": "export", "input": {}}),
            None,
        )
        .await,
    )
    .await;
    let job = finished(&host, &account, export["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = &job["result"];
    assert_eq!(result["user"]["email"], account.email.as_str());
    assert_eq!(result["user"]["user_id"], account.user_id.as_str());
    assert_eq!(
        result["sessions"][0]["session_id"],
        account.session_id.as_str()
    );
    assert_eq!(result["jobs"][0]["job_id"], echo["job_id"]);
    let text = result.to_string();
    for secret in [
        "argon2",
        "password",
        &account.access_token,
        &account.refresh_token,
    ] {
        assert!(!text.contains(secret), "export leaks {secret:?}: {text}");
    }
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_return_the_same_job() {
    let host = TestHost::start();
    let account = host.account().await;
    let body = json!({"kind": "echo", "input": {"order": 7}});
    let first = accepted(submit(&host, &account, &body, Some("order-7")).await).await;
    let again = accepted(submit(&host, &account, &body, Some("order-7")).await).await;
    assert_eq!(first, again);
    let listed = host.get_json_auth("/jobs", &account.access_token).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    let other = json!({"kind": "echo", "input": {"order": 8}});
    assert_problem(submit(&host, &account, &other, Some("order-7")).await, 422).await;
    // Keys belong to their user: another account may use the same one.
    let stranger = host.account().await;
    let theirs = accepted(submit(&host, &stranger, &body, Some("order-7")).await).await;
    assert_ne!(theirs["job_id"], first["job_id"]);

    let too_long = "k".repeat(256);
    assert_problem(submit(&host, &account, &body, Some(&too_long)).await, 400).await;
}

#[tokio::test]
async fn bad_submissions_are_refused_before_anything_is_queued() {
    let host = TestHost::start();
    let account = host.account().await;
    for body in [
        json!({"kind": "nope", "input": {}}),
        json!({"input": {}}),
        json!({"kind": 3, "input": {}}),
        json!(["echo"]),
    ] {
        assert_problem(submit(&host, &account, &body, None).await, 400).await;
    }
    let big = json!({"kind": "echo", "input": "x".repeat(17 * 1024)});
    assert_problem(submit(&host, &account, &big, None).await, 413).await;
    let listed = host.get_json_auth("/jobs", &account.access_token).await;
    assert_eq!(listed["items"], json!([]));

    let anonymous = host
        .request(Method::POST, "/jobs")
        .json(&json!({"kind": "echo", "input": 1}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(anonymous).await;
    assert_unauthorized(
        host.request(Method::GET, "/notifications")
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn jobs_are_private_to_their_owner() {
    let host = TestHost::start();
    let (owner, stranger) = (host.account().await, host.account().await);
    let job =
        accepted(submit(&host, &owner, &json!({"kind": "echo", "input": 1}), None).await).await;
    let path = format!("/jobs/{}", job["job_id"].as_str().unwrap());
    assert_problem(host.get_auth(&path, &stranger.access_token).await, 404).await;
    for missing in [
        "/jobs/0190c1d2-0000-7000-8000-000000000000",
        "/jobs/not-an-id",
    ] {
        assert_problem(host.get_auth(missing, &owner.access_token).await, 404).await;
    }
    let theirs = host.get_json_auth("/jobs", &stranger.access_token).await;
    assert_eq!(theirs["items"], json!([]));
}

#[tokio::test]
async fn the_list_pages_newest_first_with_a_cursor() {
    let host = TestHost::start();
    let account = host.account().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let job =
            accepted(submit(&host, &account, &json!({"kind": "echo", "input": n}), None).await)
                .await;
        ids.push(job["job_id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/jobs?limit=2".to_owned();
    loop {
        let page = host.get_json_auth(&path, &account.access_token).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|j| j["job_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/jobs?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    for bad in [
        "/jobs?limit=0",
        "/jobs?limit=101",
        "/jobs?limit=x",
        "/jobs?cursor=%%%",
    ] {
        assert_problem(host.get_auth(bad, &account.access_token).await, 400).await;
    }
}
