//! Harness for the black-box contract suite: starts a real Skiff host (the local
//! server, or the Lambda functions in emulated AWS) and talks to it over HTTP only,
//! exactly as a client would.

mod aws_local;
mod azure_local;
mod cognito;
mod host;
mod ingestion;
mod local;
mod redis_server;
mod tokens;

pub use azure_local::AzureNames;
pub use cognito::{CognitoPool, CognitoTokens, jwt_claims, sign_as_cognito};
pub use host::{Account, TestHost, shared_key};
pub use ingestion::IngestionEndpoint;
pub use local::local_binary;
pub use redis_server::RedisServer;
pub use tokens::{TestKey, b64url, claims_for, sign_typed, sign_with};

/// A harness setting, never passed to a host: the directory where the host's
/// processes write their stderr (their log lines), one file per process.
pub(crate) const LOG_DIR_SETTING: &str = "SKIFF_TEST_HARNESS_LOG_DIR";

/// Where a process called `name` writes its stderr: a file in the log directory
/// `env` names, else the test's own stderr.
pub(crate) fn stderr_for(env: &[(String, String)], name: &str) -> std::process::Stdio {
    match env.iter().find(|(k, _)| k == LOG_DIR_SETTING) {
        Some((_, dir)) => {
            let path = std::path::Path::new(dir).join(format!("{name}.stderr"));
            std::fs::File::create(&path)
                .unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
                .into()
        }
        None => std::process::Stdio::inherit(),
    }
}

/// `env` without the harness's own settings: what a host process is given.
pub(crate) fn host_settings(env: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    env.iter()
        .filter(|(k, _)| k != LOG_DIR_SETTING)
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// An RFC 3339 UTC time as the API writes it (`…:05Z`, `…:05.1Z`, `…:05.123Z`)
/// with its fraction padded to milliseconds, so two of them compare in time order
/// as strings (unpadded, `05.9Z` sorts after `05.94Z`).
pub fn comparable_time(text: &str) -> String {
    let body = text
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not a UTC time: {text}"));
    match body.split_once('.') {
        Some((seconds, fraction)) => format!("{seconds}.{fraction:0<3}Z"),
        None => format!("{body}.000Z"),
    }
}

/// A password that satisfies the contract's rules.
pub const PASSWORD: &str = "correct horse battery staple";

/// A unique, valid email for one test.
pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Sends every request at once, each on its own task, and returns the statuses in
/// request order: the shape of every race the suite stages.
pub async fn statuses_of(requests: Vec<reqwest::RequestBuilder>) -> Vec<u16> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            tokio::spawn(async move { request.send().await.expect("send").status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(task.await.expect("request task"));
    }
    statuses
}

/// Polls `probe` every 100 ms until it returns `Some`, for up to `seconds`; panics
/// naming `what` if it never does. Asynchronous work (jobs, notifications, the
/// deletion workflow) is observed this way, never with a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, seconds: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Asserts an RFC 9457 problem response with `status`, returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/")),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// Asserts a 401 with `WWW-Authenticate: Bearer…`.
pub async fn assert_unauthorized(response: reqwest::Response) -> serde_json::Value {
    let challenge = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate was {challenge:?}"
    );
    assert_problem(response, 401).await
}

/// A free loopback port, chosen by the kernel.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

#[cfg(test)]
mod tests {
    #[test]
    fn padded_times_compare_in_time_order() {
        let (earlier, later) = ("2026-12-01T12:00:05.9Z", "2026-12-01T12:00:05.94Z");
        assert!(earlier > later, "the raw strings sort the wrong way");
        assert!(super::comparable_time(earlier) < super::comparable_time(later));
        assert_eq!(
            super::comparable_time("2026-12-01T12:00:05Z"),
            "2026-12-01T12:00:05.000Z"
        );
    }
}
