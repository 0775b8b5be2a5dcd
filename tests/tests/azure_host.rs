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

/// With forwarding, a client's `POST /workflow` reaches the handler at the queue
/// function's own path, exactly as the host's invocation does. It acts only on
/// messages it sealed itself: whatever the body, a client gets the 404 of any
/// unknown path, never an invocation's `Outputs` or `Logs`, and nothing runs.
#[tokio::test]
async fn client_requests_never_reach_the_queue_functions() {
    let host = TestHost::azure_with(&[]);
    let victim = host.account().await;
    let step = serde_json::json!({
        "step": "delete_data",
        "deletion_id": uuid::Uuid::new_v4(),
        "user_id": victim.user_id,
    });
    let invocation = serde_json::json!({"Data": {"message": step.to_string()}, "Metadata": {}});
    for path in ["/worker", "/notifier", "/workflow"] {
        for body in [invocation.to_string(), "garbage".to_owned(), String::new()] {
            let response = host
                .request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let answer: serde_json::Value = response.json().await.unwrap();
            assert_eq!(answer["type"], "/problems/not-found");
            assert!(
                answer.get("Outputs").is_none() && answer.get("Logs").is_none(),
                "{answer}"
            );
        }
    }
    let session = host.get_auth("/session", &victim.access_token).await;
    assert_eq!(session.status(), 200);
    host.login_ok(&victim.email).await;
}

/// A body far over the limit is read to its end before the answer, so the host
/// never sees a closed connection: 413 every time, never a 502.
#[tokio::test]
async fn oversized_bodies_are_413_every_time() {
    let host = TestHost::azure_with(&[]);
    let body = format!(
        r#"{{"email":"a@example.com","password":"{}"}}"#,
        "x".repeat(8 * 1024 * 1024)
    );
    for _ in 0..6 {
        let response = host
            .request(reqwest::Method::POST, "/auth/login")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}
