//! Sessions on Redis when the cache fails: the local server with
//! `SKIFF_SESSION_STORE` on a `redis-server` of the test's own, which is killed
//! (SIGKILL) in the middle of a stream of conditional writes and started again.
//! While it is away every answer is a 503 problem+json with `Retry-After`; once it
//! is back the same session is served again; and every acknowledged write is
//! there exactly once.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use skiff_contract_tests::{Account, PASSWORD, RedisServer, TestHost, assert_problem, eventually};
use std::collections::BTreeSet;

/// A 503 as the contract says: problem+json, retry later.
async fn assert_unavailable(response: Response) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem = assert_problem(response, 503).await;
    assert_eq!(
        problem["type"], "/problems/service-unavailable",
        "{problem}"
    );
    assert!(
        retry_after.is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
        "a 503 without Retry-After"
    );
}

/// The data and its ETag, or the 503 while the cache is away.
async fn read(host: &TestHost, account: &Account) -> Result<(String, Value), Response> {
    let response = host.get_auth("/session", &account.access_token).await;
    if response.status() != 200 {
        return Err(response);
    }
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let session: Value = response.json().await.unwrap();
    Ok((etag, session["data"].clone()))
}

async fn patch(host: &TestHost, account: &Account, etag: &str, key: &str) -> Response {
    host.request(Method::PATCH, "/session/data")
        .bearer_auth(&account.access_token)
        .header("if-match", etag)
        .json(&json!({ key: true }))
        .send()
        .await
        .unwrap()
}

fn version(etag: &str) -> u64 {
    etag.trim_matches('"').parse().unwrap()
}

#[tokio::test]
async fn a_killed_cache_costs_503s_and_loses_no_acknowledged_write() {
    let mut redis = RedisServer::start();
    let host = TestHost::local_with(&[("SKIFF_SESSION_STORE", &redis.url)]);
    let account = host.account().await;

    let mut acknowledged = BTreeSet::new();
    let mut attempted = BTreeSet::new();
    let (mut etag, _) = read(&host, &account).await.unwrap();
    let mut unavailable = 0;
    let mut down = false;
    // After a 503 the client cannot know whether its write landed: like a real
    // client it reads the current version before it writes again.
    let mut version_unknown = false;
    for i in 0..60 {
        if i == 20 {
            redis.kill();
            down = true;
        }
        if down && unavailable >= 3 {
            redis.restart();
            down = false;
            etag = eventually("the session served again", 30, async || {
                read(&host, &account).await.ok().map(|(etag, _)| etag)
            })
            .await;
            version_unknown = false;
        }
        if version_unknown {
            match read(&host, &account).await {
                Ok((current, _)) => (etag, version_unknown) = (current, false),
                Err(response) => {
                    assert_unavailable(response).await;
                    unavailable += 1;
                    continue;
                }
            }
        }
        let key = format!("write-{i:02}");
        attempted.insert(key.clone());
        let response = patch(&host, &account, &etag, &key).await;
        if response.status() == 200 {
            etag = response.headers()["etag"].to_str().unwrap().to_owned();
            acknowledged.insert(key);
            continue;
        }
        assert_unavailable(response).await;
        unavailable += 1;
        version_unknown = true;
    }
    assert!(unavailable >= 3, "the cache's death went unnoticed");
    assert!(
        acknowledged.len() >= 50,
        "{} of 60 writes",
        acknowledged.len()
    );

    let (etag, data) = read(&host, &account).await.unwrap();
    let present: BTreeSet<String> = data.as_object().unwrap().keys().cloned().collect();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(present.is_subset(&attempted), "{present:?}");
    // Each applied write adds one key and one version: none was applied twice.
    assert_eq!(version(&etag), 1 + present.len() as u64, "{present:?}");

    // Logins and new sessions work again too.
    let again = host.login(&account.email, PASSWORD).await;
    assert_eq!(again.status(), 200);
}

/// Session reads go to Redis, not to the main store: with the cache gone a session
/// that was just written answers 503, while the server itself is up.
#[tokio::test]
async fn sessions_live_in_redis_not_in_the_main_store() {
    let redis = RedisServer::start();
    let host = TestHost::local_with(&[("SKIFF_SESSION_STORE", &redis.url)]);
    let account = host.account().await;
    let write = host
        .request(Method::PUT, "/session/data")
        .bearer_auth(&account.access_token)
        .json(&json!({"cart": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 200);
    drop(redis);
    assert_unavailable(host.get_auth("/session", &account.access_token).await).await;
    assert_eq!(host.get_json("/health").await["status"], "ok");
}

/// `rediss://`: sessions over TLS, with the server's certificate verified against
/// the trusted roots (here a CA of the test's own, named by `SSL_CERT_FILE` as
/// any OpenSSL-style deployment would): trusted, the contract works; untrusted,
/// nothing is sent to the server and sessions answer 503.
#[tokio::test]
async fn sessions_over_tls_verify_the_server() {
    let redis = RedisServer::start_tls();
    let ca = redis.ca_file().display().to_string();
    let host = TestHost::local_with(&[("SKIFF_SESSION_STORE", &redis.url), ("SSL_CERT_FILE", &ca)]);
    let account = host.account().await;
    let (etag, _) = read(&host, &account).await.unwrap();
    let response = patch(&host, &account, &etag, "over-tls").await;
    assert_eq!(response.status(), 200);
    let (_, data) = read(&host, &account).await.unwrap();
    assert_eq!(data["over-tls"], true);

    // The same server, but its CA not trusted: the handshake fails.
    // Logins count their attempts on Redis first, so they fail before anything else.
    let untrusting = TestHost::local_with(&[("SKIFF_SESSION_STORE", &redis.url)]);
    let login = untrusting.login(&account.email, PASSWORD).await;
    assert_unavailable(login).await;
}
