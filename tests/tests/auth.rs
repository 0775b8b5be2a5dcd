//! Register, login, refresh rotation with reuse detection, logout and lockout.

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{
    PASSWORD, TestHost, assert_problem, assert_unauthorized, statuses_of, unique_email,
};

#[tokio::test]
async fn register_normalises_the_email_and_refuses_duplicates() {
    let host = TestHost::start();
    let email = unique_email();
    let shouted = format!("  {}  ", email.to_uppercase());
    let response = host.register(&shouted, PASSWORD).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["user_id"].as_str().is_some_and(|id| id.len() == 36),
        "{body}"
    );

    // The normalised spelling logs in, and every spelling is the same account.
    host.login_ok(&email).await;
    let problem = assert_problem(host.register(&email, "another password 123").await, 409).await;
    assert_eq!(problem["type"], "/problems/email-taken");
}

#[tokio::test]
async fn register_rejects_bad_emails_and_passwords() {
    let host = TestHost::start();
    let long_email = format!("{}@example.com", "a".repeat(250));
    for email in [
        "",
        "no-at-sign",
        "two@@example.com",
        "a@b@example.com",
        "alice@localhost",
        long_email.as_str(),
    ] {
        let problem = assert_problem(host.register(email, PASSWORD).await, 400).await;
        assert_eq!(problem["type"], "/problems/invalid-request", "{email}");
    }
    for password in ["short", &"x".repeat(11), &"x".repeat(257)] {
        assert_problem(host.register(&unique_email(), password).await, 400).await;
    }
    // The bounds themselves are accepted.
    assert_eq!(
        host.register(&unique_email(), &"x".repeat(12))
            .await
            .status(),
        201
    );
    assert_eq!(
        host.register(&unique_email(), &"x".repeat(256))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn login_returns_bearer_tokens_and_a_session() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    let response = host.login(&email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    // ≥ 128 bits of randomness, base64url.
    assert!(body["refresh_token"].as_str().unwrap().len() >= 22);
    let session_id = body["session_id"].as_str().unwrap();

    // Every login is a new session.
    let second = host.login_ok(&email).await;
    assert_ne!(second["session_id"].as_str().unwrap(), session_id);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    let wrong_password = assert_unauthorized(host.login(&email, "not the password!").await).await;
    let unknown_email = assert_unauthorized(host.login(&unique_email(), PASSWORD).await).await;
    let malformed_email = assert_unauthorized(host.login("not an email", PASSWORD).await).await;
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password, malformed_email);
    assert_eq!(wrong_password["type"], "/problems/invalid-credentials");
}

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    for _ in 0..5 {
        assert_unauthorized(host.login(&email, "wrong password!!").await).await;
    }
    for password in ["wrong password!!", PASSWORD] {
        let response = host.login(&email, password).await;
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=900).contains(&retry_after),
            "Retry-After {retry_after}"
        );
        let problem = assert_problem(response, 429).await;
        assert_eq!(problem["type"], "/problems/too-many-attempts");
    }
    // Other accounts are unaffected.
    let other = unique_email();
    host.register(&other, PASSWORD).await;
    host.login_ok(&other).await;
}

#[tokio::test]
async fn unknown_emails_lock_out_like_real_ones() {
    let host = TestHost::start();
    let ghost = unique_email();
    for _ in 0..5 {
        assert_unauthorized(host.login(&ghost, PASSWORD).await).await;
    }
    assert_problem(host.login(&ghost, PASSWORD).await, 429).await;
}

#[tokio::test]
async fn lockout_ends_after_its_duration_and_success_resets_the_count() {
    let host = TestHost::start_with(&[
        ("SKIFF_LOCKOUT_MAX_FAILURES", "2"),
        ("SKIFF_LOCKOUT_DURATION", "2s"),
    ]);
    let email = unique_email();
    host.register(&email, PASSWORD).await;

    // One failure, then a success: the count starts over.
    assert_unauthorized(host.login(&email, "wrong password!!").await).await;
    host.login_ok(&email).await;
    assert_unauthorized(host.login(&email, "wrong password!!").await).await;
    host.login_ok(&email).await;

    assert_unauthorized(host.login(&email, "wrong password!!").await).await;
    assert_unauthorized(host.login(&email, "wrong password!!").await).await;
    let response = host.login(&email, PASSWORD).await;
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    tokio::time::sleep(std::time::Duration::from_millis(2_300)).await;
    host.login_ok(&email).await;
}

#[tokio::test]
async fn refresh_rotates_and_a_spent_token_revokes_the_session() {
    let host = TestHost::start();
    let account = host.account().await;

    let response = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated: Value = response.json().await.unwrap();
    let newest = rotated["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_ne!(newest, account.refresh_token);
    assert_ne!(new_access, account.access_token);
    assert_eq!(rotated["session_id"].as_str().unwrap(), account.session_id);
    assert_eq!(rotated["token_type"], "Bearer");
    assert_eq!(host.get_auth("/session", &new_access).await.status(), 200);

    // Reuse of the spent token: 401, and the whole session dies with it.
    let reuse = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await;
    assert_eq!(
        assert_unauthorized(reuse).await["type"],
        "/problems/invalid-refresh-token"
    );
    assert_unauthorized(
        host.post_json("/auth/refresh", &json!({"refresh_token": newest}))
            .await,
    )
    .await;
    assert_unauthorized(host.get_auth("/session", &new_access).await).await;
    assert_unauthorized(host.get_auth("/session", &account.access_token).await).await;

    // Other sessions of the same user live on.
    let other = host.login_ok(&account.email).await;
    assert_eq!(
        host.get_auth("/session", other["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn refresh_refuses_unknown_and_garbage_tokens() {
    let host = TestHost::start();
    for token in ["", "nope", &"A".repeat(43), &"x".repeat(5000)] {
        assert_unauthorized(
            host.post_json("/auth/refresh", &json!({"refresh_token": token}))
                .await,
        )
        .await;
    }
}

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let host = TestHost::start();
    let account = host.account().await;
    let second_login = host.login_ok(&account.email).await;

    let response = host
        .request(Method::POST, "/auth/logout")
        .bearer_auth(&account.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    assert_unauthorized(
        host.post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await,
    )
    .await;
    let token = &account.access_token;
    assert_unauthorized(host.get_auth("/session", token).await).await;
    for method in [Method::PUT, Method::PATCH] {
        let response = host
            .request(method, "/session/data")
            .bearer_auth(token)
            .json(&json!({"a": 1}))
            .send()
            .await
            .unwrap();
        assert_unauthorized(response).await;
    }
    let response = host
        .request(Method::DELETE, "/session/data")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
    let response = host
        .request(Method::POST, "/auth/logout")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;

    // Only that session ended.
    let other = second_login["access_token"].as_str().unwrap();
    assert_eq!(host.get_auth("/session", other).await.status(), 200);
}

#[tokio::test]
async fn logout_needs_a_bearer_token() {
    let host = TestHost::start();
    assert_unauthorized(
        host.request(Method::POST, "/auth/logout")
            .send()
            .await
            .unwrap(),
    )
    .await;
}

/// Parallel guessing must not buy extra attempts: every attempt is counted before
/// its password is checked, so at most five of twenty concurrent guesses are heard.
/// A guess may also meet the password-hashing bound (503 with Retry-After, as when
/// eight invocations share one Lambda environment): it is then not counted, and a
/// later guess takes its place; never more than five are heard in all.
#[tokio::test]
async fn concurrent_guesses_get_no_more_than_five_tries() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    let guess = || {
        host.request(Method::POST, "/auth/login")
            .json(&json!({"email": email, "password": "wrong password!!"}))
    };
    let statuses = statuses_of((0..20).map(|_| guess()).collect()).await;
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    let heard = count(401);
    assert!(heard <= 5, "{statuses:?}");
    assert_eq!(heard + count(429) + count(503), 20, "{statuses:?}");
    // Guesses one at a time until the lock: exactly five are heard in all.
    let mut more = 0;
    loop {
        match guess().send().await.unwrap().status().as_u16() {
            401 => more += 1,
            429 => break,
            other => panic!("a lone guess got {other}"),
        }
        assert!(heard + more <= 5, "a sixth guess was heard: {statuses:?}");
    }
    assert_eq!(heard + more, 5, "{statuses:?}, then {more} more");
    assert_problem(host.login(&email, PASSWORD).await, 429).await;
}

/// Five failures lock the (account, client) pair only: the owner still logs in
/// from another address, so no one can lock a stranger out.
#[tokio::test]
async fn a_locked_client_does_not_lock_the_owner_out() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    for _ in 0..5 {
        assert_unauthorized(
            host.login_from("127.0.0.2", &email, "wrong password!!")
                .await,
        )
        .await;
    }
    let locked = host.login_from("127.0.0.2", &email, PASSWORD).await;
    assert_eq!(
        assert_problem(locked, 429).await["type"],
        "/problems/too-many-attempts"
    );
    let owner = host.login_from("127.0.0.3", &email, PASSWORD).await;
    assert_eq!(owner.status(), 200, "the owner, from another address");
}

/// One client guessing across many accounts is throttled for every login and
/// registration, while other clients are not.
#[tokio::test]
async fn password_spraying_from_one_client_is_throttled() {
    let host = TestHost::start_with(&[("SKIFF_LOCKOUT_CLIENT_MAX_FAILURES", "3")]);
    let victim = unique_email();
    host.register(&victim, PASSWORD).await;
    for _ in 0..3 {
        assert_unauthorized(
            host.login_from("127.0.0.4", &unique_email(), PASSWORD)
                .await,
        )
        .await;
    }
    assert_problem(host.login_from("127.0.0.4", &victim, PASSWORD).await, 429).await;
    let register = host
        .client_from("127.0.0.4")
        .post(host.url("/auth/register"))
        .json(&json!({"email": unique_email(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(register, 429).await;
    assert_eq!(
        host.login_from("127.0.0.5", &victim, PASSWORD)
            .await
            .status(),
        200
    );
}

/// Guesses spread over many addresses still lock the account for everyone.
#[tokio::test]
async fn distributed_guessing_locks_the_account() {
    let host = TestHost::start_with(&[("SKIFF_LOCKOUT_ACCOUNT_MAX_FAILURES", "3")]);
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    for source in ["127.0.0.6", "127.0.0.7", "127.0.0.8"] {
        assert_unauthorized(host.login_from(source, &email, "wrong password!!").await).await;
    }
    assert_problem(host.login_from("127.0.0.9", &email, PASSWORD).await, 429).await;
    // Another account from the same addresses is not affected.
    let other = unique_email();
    host.register(&other, PASSWORD).await;
    assert_eq!(
        host.login_from("127.0.0.6", &other, PASSWORD)
            .await
            .status(),
        200
    );
}

/// Correct logins at once (a retrying client, a user on several devices) are
/// never refused as failed attempts, whatever is still in flight.
#[tokio::test]
async fn concurrent_correct_logins_are_never_counted_as_failures() {
    let host = TestHost::start();
    let email = unique_email();
    host.register(&email, PASSWORD).await;
    let body = json!({"email": email, "password": PASSWORD});
    let statuses = statuses_of(
        (0..16)
            .map(|_| host.request(Method::POST, "/auth/login").json(&body))
            .collect(),
    )
    .await;
    assert!(
        !statuses.contains(&429),
        "correct logins refused as failures: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    // Nothing was counted against the account: the next login works.
    host.login_ok(&email).await;
}
