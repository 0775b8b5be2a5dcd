//! General rules of the contract: health, problem+json for every error, and no
//! 5xx for any bad input.

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{PASSWORD, TestHost, assert_problem, unique_email};

/// `n` nested arrays around a number.
fn nested(n: usize) -> Value {
    (0..n).fold(json!(1), |inner, _| json!([inner]))
}

#[tokio::test]
async fn health_is_ok() {
    let host = TestHost::start();
    let response = host.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let host = TestHost::start();
    let body = assert_problem(
        host.request(Method::GET, "/no/such/route")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(body["type"], "/problems/not-found");
    for (method, path) in [
        (Method::DELETE, "/health"),
        (Method::GET, "/auth/login"),
        (Method::POST, "/session"),
        (Method::GET, "/session/data"),
    ] {
        let body = assert_problem(host.request(method, path).send().await.unwrap(), 405).await;
        assert_eq!(body["type"], "/problems/method-not-allowed");
    }
}

#[tokio::test]
async fn every_request_gets_a_request_id_and_keeps_a_given_one() {
    let host = TestHost::start();
    let response = host.request(Method::GET, "/health").send().await.unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let response = host
        .request(Method::GET, "/health")
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn malformed_bodies_are_400_with_problem_details() {
    let host = TestHost::start();
    let bad_bodies: [(&str, &str); 7] = [
        ("/auth/register", "{not json"),
        ("/auth/register", ""),
        ("/auth/register", r#"{"email": "a@example.com"}"#),
        (
            "/auth/register",
            r#"{"email": 42, "password": "correct horse battery"}"#,
        ),
        (
            "/auth/register",
            r#"["a@example.com", "correct horse battery"]"#,
        ),
        (
            "/auth/login",
            r#"{"email": "a@example.com", "password": null}"#,
        ),
        ("/auth/refresh", r#"{"refresh_token": 7}"#),
    ];
    for (path, body) in bad_bodies {
        let response = host
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400).await;
        assert_eq!(
            problem["type"], "/problems/invalid-request",
            "{path} {body}"
        );
    }
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let host = TestHost::start();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = host
            .request(Method::POST, "/auth/login")
            .body(r#"{"email":"a@example.com","password":"correct horse battery"}"#);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        assert_problem(request.send().await.unwrap(), 415).await;
    }
}

#[tokio::test]
async fn bodies_over_the_host_limit_are_413() {
    let host = TestHost::start_with(&[("SKIFF_MAX_BODY_BYTES", "4096")]);
    let padding = "x".repeat(8192);
    let body = json!({"email": unique_email(), "password": PASSWORD, "padding": padding});
    let problem = assert_problem(host.post_json("/auth/register", &body).await, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");
}

#[tokio::test]
async fn problems_never_leak_internals() {
    let host = TestHost::start();
    let response = host
        .request(Method::POST, "/auth/register")
        .header("content-type", "application/json")
        .body("{\"email\": \"x\u{0}\", \"password\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, 400).await.to_string();
    for leak in ["panicked", "rusqlite", "sqlite", "stack", "src/"] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }
}

/// Bytes that are not UTF-8 (a JSON string with a broken sequence, or no JSON at
/// all) are bad input like any other: 400 problem+json on every host.
#[tokio::test]
async fn bodies_that_are_not_utf8_are_400() {
    let host = TestHost::start();
    let broken_string: &[u8] =
        b"{\"email\":\"a\xff@example.com\",\"password\":\"correct horse battery\"}";
    for path in ["/auth/register", "/auth/login", "/auth/refresh"] {
        for body in [&b"\xff\xfe{"[..], broken_string] {
            let response = host
                .request(Method::POST, path)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            let problem = assert_problem(response, 400).await;
            assert_eq!(problem["type"], "/problems/invalid-request", "{path}");
        }
    }
}

/// A login name of any length is an unknown account (401), never a backend error.
#[tokio::test]
async fn very_long_logins_are_401() {
    let host = TestHost::start();
    let email = format!("{}@example.com", "a".repeat(3000));
    let response = host.login(&email, PASSWORD).await;
    assert_eq!(
        assert_problem(response, 401).await["type"],
        "/problems/invalid-credentials"
    );
}

/// Whatever is accepted can be read back: nesting is capped on every body, so no
/// session, job or login can hold a document a store cannot read again.
#[tokio::test]
async fn json_nested_deeper_than_32_levels_is_400() {
    let host = TestHost::start();
    let account = host.account().await;
    let put = |body: Value| {
        host.request(Method::PUT, "/session/data")
            .bearer_auth(&account.access_token)
            .json(&body)
            .send()
    };
    // 32 levels in all is accepted and reads back.
    let deepest = json!({ "a": nested(31) });
    assert_eq!(put(deepest.clone()).await.unwrap().status(), 200);
    let session = host.get_json_auth("/session", &account.access_token).await;
    assert_eq!(session["data"], deepest);
    for body in [json!({ "a": nested(32) }), json!({ "a": nested(126) })] {
        let problem = assert_problem(put(body).await.unwrap(), 400).await;
        assert_eq!(problem["type"], "/problems/invalid-request");
    }
    let job = host
        .post_auth(
            "/jobs",
            &account.access_token,
            &json!({"kind": "echo", "input": nested(40)}),
        )
        .await;
    assert_problem(job, 400).await;
    let login = host
        .post_json(
            "/auth/login",
            &json!({"email": nested(40), "password": PASSWORD}),
        )
        .await;
    assert_problem(login, 400).await;
    // The session is still readable after all of that.
    assert_eq!(
        host.get_auth("/session", &account.access_token)
            .await
            .status(),
        200
    );
}

/// Every response says not to sniff; anything holding a token, a code or private
/// state must not be stored by a cache.
#[tokio::test]
async fn responses_carry_nosniff_and_private_ones_no_store() {
    let host = TestHost::start();
    let account = host.account().await;
    let health = host.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    let not_found = host.request(Method::GET, "/nope").send().await.unwrap();
    assert_eq!(not_found.headers()["x-content-type-options"], "nosniff");
    for path in ["/session", "/jobs", "/notifications"] {
        let response = host.get_auth(path, &account.access_token).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        let cache = response.headers()["cache-control"].to_str().unwrap();
        assert!(cache.contains("no-store"), "{path}: {cache}");
    }
    let refused = host.get_auth("/session", "not-a-token").await;
    assert!(
        refused.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let login = host.login(&account.email, PASSWORD).await;
    assert_eq!(login.headers()["cache-control"], "no-store");
}

/// A client's request id is echoed when it is 1..=128 printable ASCII characters;
/// anything else is replaced by one the server makes.
#[tokio::test]
async fn client_request_ids_are_kept_only_when_bounded() {
    let host = TestHost::start();
    let with_id = |id: &str| {
        host.request(Method::GET, "/health")
            .header("x-request-id", id)
            .send()
    };
    let kept = "trace-0123_abc:/x".to_owned();
    let longest = "r".repeat(128);
    for id in [kept.as_str(), longest.as_str()] {
        let response = with_id(id).await.unwrap();
        assert_eq!(response.headers()["x-request-id"], id);
    }
    for id in ["r".repeat(129), "tab\there".to_owned()] {
        let response = with_id(&id).await.unwrap();
        let used = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(used, id);
        assert!((1..=128).contains(&used.len()), "{used}");
    }
}
