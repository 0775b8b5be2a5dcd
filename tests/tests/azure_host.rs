//! The Azure host emulator with the real handler on Azurite: what the contract
//! suite cannot see. A message that keeps failing is retried `maxDequeueCount`
//! times and then kept in `<queue>-poison`; nothing is lost.

use std::time::Duration;

use skiff::adapters::azure::{StorageAccount, StorageClient, StorageQueue};
use skiff_contract_tests::{TestHost, eventually};

fn queue(name: &str) -> StorageQueue {
    let connection = std::env::var("SKIFF_TEST_AZURE_STORAGE")
        .expect("SKIFF_TEST_AZURE_STORAGE is unset: run with `make test`");
    let account = StorageAccount::parse(&connection).expect("connection string");
    StorageQueue::new(StorageClient::new(account).expect("client"), name)
}

#[tokio::test]
async fn a_message_that_keeps_failing_ends_in_the_poison_queue_intact() {
    let host = TestHost::azure_with(&[]);
    let names = host.azure_names();
    let jobs = queue(&names.jobs_queue);
    jobs.send("this is not a job message", Duration::ZERO)
        .await
        .unwrap();

    let poison = queue(&format!("{}-poison", names.jobs_queue));
    let kept = eventually("the message in the poison queue", 60, || async {
        let found = poison.peek().await.ok()?;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].text, "this is not a job message");
    assert!(jobs.peek().await.unwrap().is_empty(), "moved, not copied");
}

#[tokio::test]
async fn every_path_is_forwarded_to_the_contract_router() {
    let host = TestHost::azure_with(&[]);
    // Every path is the catch-all HTTP function's: the handler's problem+json 404.
    let response = host
        .request(reqwest::Method::GET, "/no/such/path")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn a_step_forged_through_the_http_function_deletes_nothing() {
    // With forwarding, a client's POST /workflow reaches the queue function's
    // route just as the host's invocation does. The steps themselves refuse to
    // delete for a deletion its owner did not confirm.
    let host = TestHost::azure_with(&[]);
    let victim = host.account().await;
    let step = serde_json::json!({
        "step": "delete_data",
        "deletion_id": uuid::Uuid::new_v4(),
        "user_id": victim.user_id,
    });
    let forged = host
        .request(reqwest::Method::POST, "/workflow")
        .json(&serde_json::json!({"Data": {"message": step.to_string()}, "Metadata": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 500);
    let session = host.get_auth("/session", &victim.access_token).await;
    assert_eq!(session.status(), 200);
    host.login_ok(&victim.email).await;
}
