//! The local server as a process: persistence across restarts, the development
//! key, clean shutdown and start-up errors.

use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{PASSWORD, TestHost, local_binary};

#[tokio::test]
async fn data_and_the_dev_key_survive_a_restart() {
    // The issuer is pinned as in any real deployment: by default it is the bound
    // URL, and a restart here lands on a new random port.
    let mut host = TestHost::local_with(&[("SKIFF_ISSUER", "http://skiff.test")]);
    // Restart without configured keys: the server makes its own and keeps it.
    host.restart_with_dev_key();
    assert!(host.data_dir().join("signing-key.pem").exists());
    let jwks_before: Value = host.get_json("/.well-known/jwks.json").await;

    let account = host.account().await;
    let response = host
        .request(Method::PUT, "/session/data")
        .bearer_auth(&account.access_token)
        .json(&json!({"kept": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    host.restart_with_dev_key();
    let jwks_after: Value = host.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks_before, jwks_after, "the persisted key is reused");
    // The old access token still verifies and its session and data are still there.
    let body: Value = host
        .get_auth("/session", &account.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"], json!({"kept": true}));
    host.login_ok(&account.email).await;
    let duplicate = host.register(&account.email, PASSWORD).await;
    assert_eq!(duplicate.status(), 409);
}

#[tokio::test]
async fn ctrl_c_stops_the_server_cleanly() {
    let mut host = TestHost::local_with(&[]);
    assert_eq!(
        host.request(Method::GET, "/health")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let status = host.interrupt();
    assert!(status.success(), "exit status {status:?}");
}

/// SIGINT the moment the server announces itself, from a parent that ignores
/// SIGINT, as a script's background job does (the ignore is inherited): the
/// server has registered its handler before it announced, so it stops cleanly
/// instead of never hearing the signal.
#[test]
fn sigint_right_after_the_banner_stops_a_background_server() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg("trap '' INT; exec \"$0\"")
        .arg(local_binary())
        .env_clear()
        .env("SKIFF_DATA_DIR", dir.path())
        .env("SKIFF_LISTEN", "127.0.0.1:0")
        .env("SKIFF_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("listening on http://"), "{first:?}");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("skiff-local ignored the SIGINT sent right after its banner");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "a clean stop, not a kill: {status:?}");
}

#[test]
fn bad_configuration_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("SKIFF_ACCESS_TOKEN_TTL", "soon"),
        ("SKIFF_LISTEN", "not-an-address"),
        ("SKIFF_LOCKOUT_MAX_FAILURES", "0"),
        ("SKIFF_SIGNING_KEY_FILES", "/nonexistent/key.pem"),
    ] {
        let output = Command::new(local_binary())
            .env_clear()
            .env("SKIFF_DATA_DIR", dir.path())
            .env("SKIFF_LISTEN", "127.0.0.1:0")
            .env(name, value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "{name}={value} must stop start-up"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        let expected = if name == "SKIFF_SIGNING_KEY_FILES" {
            "/nonexistent/key.pem"
        } else {
            name
        };
        assert!(stderr.contains(expected), "{name}: stderr was {stderr}");
        assert!(
            output.stdout.is_empty(),
            "nothing is served: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// A flood of logins (unknown emails, all at once) is answered, never crashes the
/// server, and costs bounded memory: at most one Argon2 buffer per core is in use,
/// whatever the number of requests waiting.
#[tokio::test]
async fn a_login_flood_keeps_the_server_up_with_bounded_memory() {
    let mut host = TestHost::local_with(&[]);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let request = client
                .post(host.url("/auth/login"))
                .json(&serde_json::json!({
                    "email": format!("flood-{i}@example.com"),
                    "password": "correct horse battery staple",
                }));
            tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().expect("every login is answered"));
    }
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    let health = client.get(host.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server still answers");
    let peak_mib = host.peak_rss_kib() / 1024;
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    eprintln!(
        "400 parallel logins: {} x 401, {} x 429, {} x 503; peak RSS {peak_mib} MiB",
        count(401),
        count(429),
        count(503)
    );
    assert!(
        peak_mib < 256,
        "peak RSS {peak_mib} MiB under 400 parallel logins"
    );
}
