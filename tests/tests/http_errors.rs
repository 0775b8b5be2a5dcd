//! General rules of the contract: health, problem+json for every error, and no
//! 5xx for any bad input.

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{PASSWORD, TestHost, assert_problem, unique_email};

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
