//! Federated login with a Cognito user pool (moto's, a real RS256 issuer): the same
//! person comes back as the same Skiff user, every forged or wrong token is refused
//! next to an accepted one, and the account's sessions, jobs and deletion work as a
//! password account's do.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use skiff_contract_tests::{
    CognitoPool, PASSWORD, TestHost, TestKey, assert_problem, assert_unauthorized, b64url,
    eventually, jwt_claims, sign_as_cognito, sign_typed, unique_email,
};

fn host_trusting(pool: &CognitoPool) -> TestHost {
    TestHost::start_with(&[("SKIFF_FEDERATED_ISSUERS", &pool.issuers_setting())])
}

async fn federated_login(host: &TestHost, id_token: &str) -> Response {
    host.post_json("/auth/federated", &json!({"id_token": id_token}))
        .await
}

/// A federated login that must succeed: its token body.
async fn logged_in(host: &TestHost, id_token: &str) -> Value {
    let response = federated_login(host, id_token).await;
    assert_eq!(response.status(), 200, "federated login");
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("json")
}

fn access_token(tokens: &Value) -> &str {
    tokens["access_token"].as_str().expect("access_token")
}

/// The Skiff user an access token names.
fn user_of(tokens: &Value) -> String {
    jwt_claims(access_token(tokens))["sub"]
        .as_str()
        .expect("sub")
        .to_owned()
}

async fn refused(host: &TestHost, case: &str, id_token: &str) {
    let body = assert_unauthorized(federated_login(host, id_token).await).await;
    assert_eq!(
        body["type"], "/problems/invalid-credentials",
        "{case}: {body}"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn a_cognito_id_token_logs_in_as_the_same_user_each_time_and_works_like_a_password_account() {
    let pool = CognitoPool::create().await;
    let email = unique_email();
    pool.add_user("alice", &email).await;
    let host = host_trusting(&pool);
    // A password account with the same (verified) email is another account.
    let registered = host.register(&email, PASSWORD).await;
    assert_eq!(registered.status(), 201);
    let password_user = registered.json::<Value>().await.unwrap()["user_id"].clone();

    let first = logged_in(&host, &pool.sign_in("alice").await.id_token).await;
    assert_eq!(first["token_type"], "Bearer");
    assert!(first["refresh_token"].is_string() && first["session_id"].is_string());
    let user = user_of(&first);
    assert_ne!(json!(user), password_user);

    let again = logged_in(&host, &pool.sign_in("alice").await.id_token).await;
    assert_eq!(user_of(&again), user, "the same person is the same user");
    assert_ne!(again["session_id"], first["session_id"]);

    let token = access_token(&again);
    let session = host.get_json_auth("/session", token).await;
    assert_eq!(session["session_id"], again["session_id"], "{session}");
    let job = host
        .post_auth("/jobs", token, &json!({"kind": "echo", "input": {"n": 1}}))
        .await;
    assert_eq!(job.status(), 202);
    let job_id = job.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually("the federated user's job to succeed", 60, || async {
        let job = host.get_json_auth(&format!("/jobs/{job_id}"), token).await;
        (job["status"] == "succeeded").then_some(())
    })
    .await;
    let refreshed = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": again["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status(), 200);

    // A browser asks for the refresh token in the HttpOnly cookie instead.
    let by_cookie = host
        .request(Method::POST, "/auth/federated")
        .header("x-refresh-token-transport", "cookie")
        .json(&json!({"id_token": pool.sign_in("alice").await.id_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    let cookie = by_cookie.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Secure-skiff-refresh=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let body: Value = by_cookie.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(user_of(&body), user);

    // The password account is untouched: its own login still works.
    assert_eq!(host.login(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn forged_and_wrong_tokens_are_refused_next_to_an_accepted_control() {
    let pool = CognitoPool::create().await;
    pool.add_user("bob", &unique_email()).await;
    let untrusted = CognitoPool::create().await;
    untrusted.add_user("bob", &unique_email()).await;
    let other_client = CognitoPool::add_client(&pool.pool_id).await;
    let host = host_trusting(&pool);

    let tokens = pool.sign_in("bob").await;
    let control = tokens.id_token.clone();
    let claims = jwt_claims(&control);
    let parts: Vec<&str> = control.split('.').collect();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut changed = claims.clone();
        change(&mut changed);
        changed
    };
    let stranger = TestKey::generate();
    let jwks = reqwest::get(pool.jwks_uri())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&jwks),
    )
    .unwrap();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(&serde_json::to_vec(&with(&|c| c["sub"] = json!("someone-else"))).unwrap()),
        parts[2]
    );
    let cases = [
        ("another issuer", untrusted.sign_in("bob").await.id_token),
        (
            "another app client (audience)",
            pool.sign_in_with(&other_client, "bob").await.id_token,
        ),
        (
            "expired",
            sign_as_cognito(&with(&|c| {
                c["iat"] = json!(now() - 7200);
                c["auth_time"] = json!(now() - 7200);
                c["exp"] = json!(now() - 3600);
            })),
        ),
        (
            "alg none",
            format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), parts[1]),
        ),
        ("HS256 keyed with the public JWKS", hs256),
        ("a Cognito access token", tokens.access_token.clone()),
        ("a tampered payload", tampered),
        (
            "an unknown kid",
            sign_typed(&stranger, "rotated-key", Some("JWT"), &claims),
        ),
        (
            "another key under the pool's kid",
            sign_typed(&stranger, "dummy", Some("JWT"), &claims),
        ),
        (
            "token_use access",
            sign_as_cognito(&with(&|c| c["token_use"] = json!("access"))),
        ),
    ];
    for (case, token) in &cases {
        refused(&host, case, token).await;
    }
    // The same, correctly signed token is accepted after all of them.
    logged_in(&host, &control).await;
    logged_in(&host, &sign_as_cognito(&claims)).await;
}

#[tokio::test]
async fn a_federated_account_deletes_itself_with_a_fresh_id_token_and_comes_back_new() {
    let pool = CognitoPool::create().await;
    pool.add_user("carol", &unique_email()).await;
    pool.add_user("dave", &unique_email()).await;
    let host = host_trusting(&pool);
    let tokens = logged_in(&host, &pool.sign_in("carol").await.id_token).await;
    let token = access_token(&tokens).to_owned();
    let user = user_of(&tokens);
    let job = host
        .post_auth("/jobs", &token, &json!({"kind": "echo", "input": 1}))
        .await;
    assert_eq!(job.status(), 202);

    let delete = |body: Value| {
        let token = token.clone();
        let host = &host;
        async move { host.delete_account(&token, Some(&body)).await }
    };
    assert_unauthorized(delete(json!({"password": PASSWORD})).await).await;
    let fresh = pool.sign_in("carol").await.id_token;
    let stale = sign_as_cognito(&{
        let mut claims = jwt_claims(&fresh);
        claims["auth_time"] = json!(now() - 600);
        claims["iat"] = json!(now() - 600);
        claims
    });
    assert_unauthorized(delete(json!({"id_token": stale})).await).await;
    let someone_else = pool.sign_in("dave").await.id_token;
    assert_unauthorized(delete(json!({"id_token": someone_else})).await).await;
    assert_problem(delete(json!({})).await, 400).await;

    let requested = delete(json!({"id_token": fresh})).await;
    assert_eq!(requested.status(), 202);
    let deletion_id = requested.json::<Value>().await.unwrap()["deletion_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notice = eventually("the deletion code", 30, || async {
        host.notifications_of(&token, "account.deletion_requested")
            .await
            .into_iter()
            .find(|n| n["deletion_id"] == deletion_id.as_str())
    })
    .await;
    let confirmed = host
        .post_auth(
            "/account/deletion/confirm",
            &token,
            &json!({"deletion_id": deletion_id, "code": notice["code"]}),
        )
        .await;
    assert_eq!(confirmed.status(), 202);
    eventually("the account's sessions to end", 60, || async {
        (host.get_auth("/session", &token).await.status() == 401).then_some(())
    })
    .await;

    let renewed = eventually("a new account for the same identity", 60, || async {
        let response = federated_login(&host, &pool.sign_in("carol").await.id_token).await;
        if response.status() != 200 {
            return None;
        }
        let tokens: Value = response.json().await.unwrap();
        (user_of(&tokens) != user).then_some(tokens)
    })
    .await;
    let token = access_token(&renewed);
    assert_eq!(host.get_json_auth("/jobs", token).await["items"], json!([]));
    assert_eq!(
        host.get_json_auth("/notifications", token).await["items"],
        json!([])
    );
}

#[tokio::test]
async fn without_trusted_issuers_the_route_does_not_exist() {
    let host = TestHost::start();
    let response = host
        .request(Method::POST, "/auth/federated")
        .json(&json!({"id_token": "x.y.z"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404).await;
}
