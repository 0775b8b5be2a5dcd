//! IAM is enforced in emulated AWS: each function runs as a principal holding only
//! its own `Policies` from infra/template.yaml, so a permission missing from the
//! template fails the contract here, as it would on AWS, instead of passing on an
//! emulator that allows everything.

use serde_json::json;
use skiff_contract_tests::{PASSWORD, TestHost, assert_problem, eventually};

fn emulated_aws() -> bool {
    std::env::var("SKIFF_TEST_HOST").as_deref() == Ok("aws-local")
}

/// Two permissions taken out of the template's policies, and the contract breaks
/// where it needs them: the account function cannot publish the deletion code
/// (503 instead of 202), and the notifier cannot read the job an event names, so
/// the `job.succeeded` notification never comes. The same requests pass against
/// the full policies in the rest of the suite.
#[tokio::test]
async fn a_permission_missing_from_the_template_fails_the_contract() {
    if !emulated_aws() {
        eprintln!("runs against emulated AWS only (SKIFF_TEST_HOST=aws-local)");
        return;
    }
    let host = TestHost::aws_denying(&["account:sns:Publish", "notifier:dynamodb:GetItem"]);
    let account = host.account().await;

    let deletion = host
        .delete_account(&account.access_token, Some(&json!({"password": PASSWORD})))
        .await;
    assert_problem(deletion, 503).await;

    let job = host
        .post_auth(
            "/jobs",
            &account.access_token,
            &json!({"kind": "echo", "input": 1}),
        )
        .await;
    assert_eq!(job.status(), 202);
    let job: serde_json::Value = job.json().await.unwrap();
    let path = format!("/jobs/{}", job["job_id"].as_str().unwrap());
    eventually("the job to succeed", 60, || async {
        let body = host.get_json_auth(&path, &account.access_token).await;
        (body["status"] == "succeeded").then_some(())
    })
    .await;
    // Several deliveries' worth of time: each one is refused by IAM.
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    assert!(
        host.notifications_of(&account.access_token, "job.succeeded")
            .await
            .is_empty(),
        "a notification was written although the notifier may not read jobs"
    );
}
