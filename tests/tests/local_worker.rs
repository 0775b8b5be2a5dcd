//! The local server's worker survives being killed mid-batch: every job still
//! finishes, and none takes effect twice. Local only: it kills the one process.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{TestHost, eventually, statuses_of};

async fn all_jobs(host: &TestHost, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = "/jobs?limit=100".to_owned();
    loop {
        let page = host.get_json_auth(&path, token).await;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/jobs?limit=100&cursor={cursor}"),
            None => return items,
        }
    }
}

/// Enough that the worker is still busy when the kill comes, and few enough that
/// every notification fits on the one page `GET /notifications` returns (100).
const JOBS: usize = 90;

#[tokio::test]
async fn a_killed_worker_loses_no_job_and_runs_none_twice() {
    let mut host = TestHost::local_with(&[
        // Tokens must outlive the restart's new port.
        ("SKIFF_ISSUER", "http://skiff.test"),
        // What the killed process held comes back after a second.
        ("SKIFF_QUEUE_VISIBILITY", "1s"),
    ]);
    let account = host.account().await;
    let submissions: Vec<_> = (0..JOBS)
        .map(|n| {
            let kind = if n % 3 == 0 { "export" } else { "echo" };
            host.request(Method::POST, "/jobs")
                .bearer_auth(&account.access_token)
                .json(&json!({"kind": kind, "input": {"n": n}}))
        })
        .collect();
    assert!(statuses_of(submissions).await.iter().all(|s| *s == 202));
    // Kill while the worker is busy with its first batches.
    let before = host
        .get_json_auth("/jobs?limit=100", &account.access_token)
        .await;
    let unfinished = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["status"] != "succeeded")
        .count();
    eprintln!("killing with {unfinished} of the newest 100 jobs unfinished");
    host.kill_and_restart();

    let jobs: Vec<Value> = eventually("every job to finish after the restart", 60, || async {
        let items = all_jobs(&host, &account.access_token).await;
        (items.len() == JOBS && items.iter().all(|j| j["status"] == "succeeded")).then_some(items)
    })
    .await;
    for job in &jobs {
        assert!(job["attempts"].as_u64().unwrap() >= 1, "{job}");
    }
    // One outcome, one notification per job: nothing took effect twice.
    let notices = eventually("a notification per job", 60, || async {
        let notices = host
            .notifications_of(&account.access_token, "job.succeeded")
            .await;
        (notices.len() >= JOBS).then_some(notices)
    })
    .await;
    let mut per_job: HashMap<String, usize> = HashMap::new();
    for notice in &notices {
        *per_job
            .entry(notice["job_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_job.len(), JOBS);
    assert!(per_job.values().all(|n| *n == 1), "{per_job:?}");
}
