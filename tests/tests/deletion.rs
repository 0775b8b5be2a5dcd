//! Account deletion: the confirmation step, wrong codes, expiry, and what is left
//! (nothing) once the workflow completes, even with logins racing it.

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{
    Account, PASSWORD, TestHost, assert_problem, assert_unauthorized, eventually,
};

/// `DELETE /account` for `account`, with `body` if any.
async fn delete_account(
    host: &TestHost,
    account: &Account,
    body: Option<Value>,
) -> reqwest::Response {
    host.delete_account(&account.access_token, body.as_ref())
        .await
}

async fn request_deletion(host: &TestHost, account: &Account) -> Value {
    let response = delete_account(host, account, Some(json!({"password": PASSWORD}))).await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "awaiting_confirmation");
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    body
}

/// The code from the `account.deletion_requested` notification (the stand-in e-mail).
async fn code_for(host: &TestHost, account: &Account, deletion_id: &str) -> String {
    let notice = eventually("the deletion code notification", 30, || async {
        host.notifications_of(&account.access_token, "account.deletion_requested")
            .await
            .into_iter()
            .find(|n| n["deletion_id"] == deletion_id)
    })
    .await;
    notice["code"].as_str().expect("code").to_owned()
}

async fn confirm(
    host: &TestHost,
    account: &Account,
    deletion_id: &str,
    code: &str,
) -> reqwest::Response {
    host.post_auth(
        "/account/deletion/confirm",
        &account.access_token,
        &json!({"deletion_id": deletion_id, "code": code}),
    )
    .await
}

async fn status(host: &TestHost, account: &Account, deletion_id: &str) -> reqwest::Response {
    host.get_auth(
        &format!("/account/deletion/{deletion_id}"),
        &account.access_token,
    )
    .await
}

/// Waits until the old access token is refused: the workflow revoked the sessions.
async fn until_signed_out(host: &TestHost, account: &Account) {
    eventually("the account's sessions to end", 60, || async {
        (host
            .get_auth("/session", &account.access_token)
            .await
            .status()
            == 401)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_confirmed_deletion_removes_the_account_and_everything_it_owned() {
    let host = TestHost::start();
    let account = host.account().await;
    let job = host
        .post_auth(
            "/jobs",
            &account.access_token,
            &json!({"kind": "echo", "input": 1}),
        )
        .await;
    assert_eq!(job.status(), 202);
    let deletion = request_deletion(&host, &account).await;
    let id = deletion["deletion_id"].as_str().unwrap();
    let code = code_for(&host, &account, id).await;
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_problem(confirm(&host, &account, id, wrong).await, 403).await;
    assert_problem(
        confirm(
            &host,
            &account,
            "7f9c7a4e-0000-4000-8000-000000000000",
            &code,
        )
        .await,
        404,
    )
    .await;
    let body = status(&host, &account, id)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"deletion_id": id, "status": "awaiting_confirmation"})
    );

    let confirmed = confirm(&host, &account, id, &code).await;
    assert_eq!(confirmed.status(), 202);
    assert_eq!(
        confirmed.json::<Value>().await.unwrap(),
        json!({"status": "confirmed"})
    );

    until_signed_out(&host, &account).await;
    assert_unauthorized(host.get_auth("/jobs", &account.access_token).await).await;
    eventually("logins with the old credentials to fail", 60, || async {
        (host.login(&account.email, PASSWORD).await.status() == 401).then_some(())
    })
    .await;
    let refresh = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": account.refresh_token}),
        )
        .await;
    assert_unauthorized(refresh).await;
    // The email is free again once the account is gone.
    eventually("the email to be free", 60, || async {
        (host.register(&account.email, PASSWORD).await.status() == 201).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unconfirmed_deletion_expires_and_deletes_nothing() {
    let host = TestHost::start_with(&[("SKIFF_DELETION_WINDOW", "2s")]);
    let account = host.account().await;
    let deletion = request_deletion(&host, &account).await;
    let id = deletion["deletion_id"].as_str().unwrap();
    let code = code_for(&host, &account, id).await;
    eventually("the deletion to expire", 60, || async {
        let body: Value = status(&host, &account, id).await.json().await.unwrap();
        (body["status"] == "expired").then_some(())
    })
    .await;
    assert_problem(confirm(&host, &account, id, &code).await, 409).await;
    // Nothing was deleted: the session, the login and the data still work.
    assert_eq!(
        host.get_auth("/session", &account.access_token)
            .await
            .status(),
        200
    );
    host.login_ok(&account.email).await;
}

#[tokio::test]
async fn logins_during_a_deletion_do_not_resurrect_the_account() {
    let host = TestHost::start();
    let account = host.account().await;
    let deletion = request_deletion(&host, &account).await;
    let id = deletion["deletion_id"].as_str().unwrap().to_owned();
    let code = code_for(&host, &account, &id).await;
    assert_eq!(confirm(&host, &account, &id, &code).await.status(), 202);

    // Log in again and again while the workflow runs; keep every token we get.
    let mut tokens = Vec::new();
    for _ in 0..40 {
        let response = host.login(&account.email, PASSWORD).await;
        match response.status().as_u16() {
            200 => tokens.push(response.json::<Value>().await.unwrap()),
            401 => break,
            other => panic!("login during deletion answered {other}"),
        }
    }
    until_signed_out(&host, &account).await;
    eventually("logins to fail for good", 60, || async {
        (host.login(&account.email, PASSWORD).await.status() == 401).then_some(())
    })
    .await;
    for issued in tokens {
        let access = issued["access_token"].as_str().unwrap();
        assert_unauthorized(host.get_auth("/session", access).await).await;
        let refresh = host
            .post_json(
                "/auth/refresh",
                &json!({"refresh_token": issued["refresh_token"]}),
            )
            .await;
        assert_unauthorized(refresh).await;
    }
}

#[tokio::test]
async fn deletion_endpoints_need_a_token_and_an_own_request() {
    let host = TestHost::start();
    let (owner, stranger) = (host.account().await, host.account().await);
    assert_unauthorized(
        host.request(Method::DELETE, "/account")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let deletion = request_deletion(&host, &owner).await;
    let id = deletion["deletion_id"].as_str().unwrap();
    assert_problem(status(&host, &stranger, id).await, 404).await;
    assert_problem(status(&host, &owner, "not-an-id").await, 404).await;
    assert_problem(confirm(&host, &stranger, id, "123456").await, 404).await;
    let missing_code = host
        .post_auth(
            "/account/deletion/confirm",
            &owner.access_token,
            &json!({"deletion_id": id}),
        )
        .await;
    assert_problem(missing_code, 400).await;
}

/// A stolen access token alone cannot start a deletion: the password is asked
/// again, a wrong one is 401 and counts towards the login throttles.
#[tokio::test]
async fn deleting_an_account_needs_its_password_again() {
    let host = TestHost::start_with(&[("SKIFF_LOCKOUT_MAX_FAILURES", "3")]);
    let account = host.account().await;
    assert_problem(delete_account(&host, &account, None).await, 400).await;
    assert_problem(delete_account(&host, &account, Some(json!({}))).await, 400).await;
    assert_problem(
        delete_account(&host, &account, Some(json!({"password": 12}))).await,
        400,
    )
    .await;
    for _ in 0..3 {
        let wrong = delete_account(
            &host,
            &account,
            Some(json!({"password": "not the password"})),
        )
        .await;
        let problem = assert_problem(wrong, 401).await;
        assert_eq!(problem["type"], "/problems/invalid-credentials");
    }
    // Three wrong passwords from this client: its login for this account is locked too.
    let locked = delete_account(&host, &account, Some(json!({"password": PASSWORD}))).await;
    assert_eq!(
        assert_problem(locked, 429).await["type"],
        "/problems/too-many-attempts"
    );
    assert_problem(host.login(&account.email, PASSWORD).await, 429).await;
    assert!(
        host.notifications_of(&account.access_token, "account.deletion_requested")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn one_deletion_awaits_confirmation_at_a_time() {
    let host = TestHost::start();
    let account = host.account().await;
    let first = request_deletion(&host, &account).await;
    let again = delete_account(&host, &account, Some(json!({"password": PASSWORD}))).await;
    assert_eq!(
        assert_problem(again, 409).await["type"],
        "/problems/conflict"
    );
    // The first is still the one to confirm.
    let id = first["deletion_id"].as_str().unwrap();
    assert_eq!(
        status(&host, &account, id)
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "awaiting_confirmation"
    );
}

/// Six digits cannot be tried one after another: the fifth wrong code ends the
/// request, and then even the right code changes nothing.
#[tokio::test]
async fn five_wrong_codes_expire_the_request_and_delete_nothing() {
    let host = TestHost::start();
    let account = host.account().await;
    let deletion = request_deletion(&host, &account).await;
    let id = deletion["deletion_id"].as_str().unwrap();
    let code = code_for(&host, &account, id).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        assert_problem(confirm(&host, &account, id, wrong).await, 403).await;
    }
    assert_problem(confirm(&host, &account, id, &code).await, 409).await;
    let body: Value = status(&host, &account, id).await.json().await.unwrap();
    assert_eq!(body["status"], "expired");
    // Nothing was deleted, and a new request may start.
    assert_eq!(
        host.get_auth("/session", &account.access_token)
            .await
            .status(),
        200
    );
    host.login_ok(&account.email).await;
    request_deletion(&host, &account).await;
}
