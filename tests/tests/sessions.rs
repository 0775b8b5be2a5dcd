//! Session state: reads, replace, merge-patch, clear, versions with ETag/If-Match,
//! no lost updates, the 64 KiB limit, and sliding + absolute expiry.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use skiff_contract_tests::{Account, TestHost, assert_problem, assert_unauthorized, statuses_of};

async fn write(
    host: &TestHost,
    account: &Account,
    method: Method,
    body: &Value,
    if_match: Option<&str>,
) -> Response {
    let mut request = host
        .request(method, "/session/data")
        .bearer_auth(&account.access_token)
        .json(body);
    if let Some(etag) = if_match {
        request = request.header("if-match", etag);
    }
    request.send().await.unwrap()
}

async fn read(host: &TestHost, account: &Account) -> Value {
    let response = host.get_auth("/session", &account.access_token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn ok_body(response: Response) -> (String, Value) {
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (etag, response.json().await.unwrap())
}

#[tokio::test]
async fn a_new_session_is_empty_at_version_one() {
    let host = TestHost::start();
    let account = host.account().await;
    let response = host.get_auth("/session", &account.access_token).await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    let (_, body) = ok_body(response).await;
    assert_eq!(body["session_id"], account.session_id.as_str());
    assert_eq!(body["user_id"], account.user_id.as_str());
    assert_eq!(body["data"], json!({}));
    assert_eq!(body["version"], 1);
    let created = body["created_at"].as_str().unwrap();
    let expires = body["expires_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && expires.ends_with('Z'), "{body}");
    assert!(expires > created);
}

#[tokio::test]
async fn put_patch_and_delete_each_add_one_version() {
    let host = TestHost::start();
    let account = host.account().await;

    let (etag, body) = ok_body(
        write(
            &host,
            &account,
            Method::PUT,
            &json!({"cart": [1, 2], "theme": "dark"}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!((etag.as_str(), &body["version"]), ("\"2\"", &json!(2)));
    assert_eq!(body["data"], json!({"cart": [1, 2], "theme": "dark"}));

    let response = host
        .request(Method::PATCH, "/session/data")
        .bearer_auth(&account.access_token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"theme": null, "cart": [3], "profile": {"lang": "en"}}"#)
        .send()
        .await
        .unwrap();
    let (etag, body) = ok_body(response).await;
    assert_eq!(etag, "\"3\"");
    assert_eq!(
        body["data"],
        json!({"cart": [3], "profile": {"lang": "en"}})
    );

    let (_, body) = ok_body(
        write(
            &host,
            &account,
            Method::PATCH,
            &json!({"profile": {"tz": "UTC"}}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(body["data"]["profile"], json!({"lang": "en", "tz": "UTC"}));
    assert_eq!(body["version"], 4);

    let response = host
        .request(Method::DELETE, "/session/data")
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let body = read(&host, &account).await;
    assert_eq!(
        (body["data"].clone(), body["version"].clone()),
        (json!({}), json!(5))
    );
}

#[tokio::test]
async fn reads_do_not_change_the_version() {
    let host = TestHost::start();
    let account = host.account().await;
    write(&host, &account, Method::PUT, &json!({"a": 1}), None).await;
    let first = read(&host, &account).await;
    let second = read(&host, &account).await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let host = TestHost::start();
    let account = host.account().await;
    let (etag, _) = ok_body(
        write(
            &host,
            &account,
            Method::PUT,
            &json!({"a": 1}),
            Some("\"1\""),
        )
        .await,
    )
    .await;
    assert_eq!(etag, "\"2\"");

    for method in [Method::PUT, Method::PATCH] {
        let problem = assert_problem(
            write(&host, &account, method, &json!({"b": 2}), Some("\"1\"")).await,
            412,
        )
        .await;
        assert_eq!(problem["type"], "/problems/precondition-failed");
    }
    let response = host
        .request(Method::DELETE, "/session/data")
        .bearer_auth(&account.access_token)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_problem(response, 412).await;
    let body = read(&host, &account).await;
    assert_eq!(
        (body["data"].clone(), body["version"].clone()),
        (json!({"a": 1}), json!(2))
    );

    // The current ETag (or *) is accepted; weak tags never match.
    assert_problem(
        write(
            &host,
            &account,
            Method::PATCH,
            &json!({"b": 2}),
            Some("W/\"2\""),
        )
        .await,
        412,
    )
    .await;
    ok_body(
        write(
            &host,
            &account,
            Method::PATCH,
            &json!({"b": 2}),
            Some("\"2\""),
        )
        .await,
    )
    .await;
    ok_body(write(&host, &account, Method::PATCH, &json!({"c": 3}), Some("*")).await).await;
    assert_problem(
        write(&host, &account, Method::PATCH, &json!({"d": 4}), Some("4")).await,
        400,
    )
    .await;
}

#[tokio::test]
async fn data_must_be_an_object() {
    let host = TestHost::start();
    let account = host.account().await;
    for body in [json!([1, 2]), json!("text"), json!(7), json!(null)] {
        for method in [Method::PUT, Method::PATCH] {
            let problem =
                assert_problem(write(&host, &account, method, &body, None).await, 400).await;
            assert_eq!(problem["type"], "/problems/invalid-request");
        }
    }
    let response = host
        .request(Method::PUT, "/session/data")
        .bearer_auth(&account.access_token)
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400).await;
    assert_eq!(read(&host, &account).await["version"], 1);
}

#[tokio::test]
async fn data_over_64_kib_is_413_and_changes_nothing() {
    let host = TestHost::start();
    let account = host.account().await;
    let big = json!({"blob": "x".repeat(64 * 1024)});
    let problem = assert_problem(write(&host, &account, Method::PUT, &big, None).await, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");

    // Each patch fits; their merge does not.
    ok_body(
        write(
            &host,
            &account,
            Method::PUT,
            &json!({"a": "x".repeat(40_000)}),
            None,
        )
        .await,
    )
    .await;
    assert_problem(
        write(
            &host,
            &account,
            Method::PATCH,
            &json!({"b": "y".repeat(40_000)}),
            None,
        )
        .await,
        413,
    )
    .await;
    let body = read(&host, &account).await;
    assert_eq!(body["version"], 2);
    assert!(body["data"].get("b").is_none());
}

#[tokio::test]
async fn concurrent_writers_never_lose_an_update() {
    let host = TestHost::start();
    let account = host.account().await;
    let writers = 24;
    let mut tasks = Vec::new();
    for i in 0..writers {
        let client = host.client.clone();
        let url = host.url("/session/data");
        let token = account.access_token.clone();
        tasks.push(tokio::spawn(async move {
            let response = client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({ format!("writer{i}"): i }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["version"]
                .as_u64()
                .unwrap()
        }));
    }
    let mut versions = HashSet::new();
    for task in tasks {
        assert!(
            versions.insert(task.await.unwrap()),
            "every 200 is a distinct version"
        );
    }
    let body = read(&host, &account).await;
    assert_eq!(body["version"], writers + 1);
    assert_eq!(body["data"].as_object().unwrap().len() as u64, writers);
}

#[tokio::test]
async fn concurrent_conditional_writers_have_one_winner() {
    let host = TestHost::start();
    let account = host.account().await;
    let writers = (0..8)
        .map(|i| {
            host.request(Method::PUT, "/session/data")
                .bearer_auth(&account.access_token)
                .header("if-match", "\"1\"")
                .json(&json!({ "winner": i }))
        })
        .collect();
    let mut statuses = statuses_of(writers).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412]);
}

#[tokio::test]
async fn sessions_are_private_to_their_login() {
    let host = TestHost::start();
    let alice = host.account().await;
    let bob = host.account().await;
    write(
        &host,
        &alice,
        Method::PUT,
        &json!({"secret": "alice"}),
        None,
    )
    .await;
    assert_eq!(read(&host, &bob).await["data"], json!({}));
    // A second login of the same user is a separate session with its own state.
    let again = host.login_ok(&alice.email).await;
    let body: Value = host
        .get_auth("/session", again["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"], json!({}));
}

#[tokio::test]
async fn idle_sessions_expire_and_reads_do_not_extend_them() {
    let host = TestHost::start_with(&[("SKIFF_SESSION_IDLE_TIMEOUT", "3s")]);
    let account = host.account().await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    read(&host, &account).await; // a read at 1.5 s must not slide the window
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_unauthorized(host.get_auth("/session", &account.access_token).await).await;
    assert_unauthorized(
        host.post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn writes_and_refreshes_slide_the_idle_window() {
    let host = TestHost::start_with(&[("SKIFF_SESSION_IDLE_TIMEOUT", "3s")]);
    let account = host.account().await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    ok_body(write(&host, &account, Method::PATCH, &json!({"step": 1}), None).await).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // 4 s after login, 2 s after the write: still alive.
    let body = read(&host, &account).await;
    assert_eq!(body["data"], json!({"step": 1}));

    let refreshed: Value = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await
        .json()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // 2 s after the refresh (4 s after the write): still alive thanks to the refresh.
    assert_eq!(
        host.get_auth("/session", refreshed["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn absolute_lifetime_caps_a_busy_session() {
    let host = TestHost::start_with(&[
        ("SKIFF_SESSION_IDLE_TIMEOUT", "3s"),
        ("SKIFF_SESSION_ABSOLUTE_LIFETIME", "4s"),
    ]);
    let account = host.account().await;
    let body = read(&host, &account).await;
    let created = body["created_at"].as_str().unwrap().to_owned();
    for step in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let (_, body) =
            ok_body(write(&host, &account, Method::PATCH, &json!({"step": step}), None).await)
                .await;
        assert!(body["expires_at"].as_str().unwrap() > created.as_str());
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // 4.5 s after login: past the absolute cap although written 1.5 s ago.
    assert_unauthorized(write(&host, &account, Method::PATCH, &json!({"late": true}), None).await)
        .await;
    assert_unauthorized(host.get_auth("/session", &account.access_token).await).await;
}
