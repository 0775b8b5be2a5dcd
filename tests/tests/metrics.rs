//! Skiff's metrics count what the contract's flows did, read the way an operator's
//! tools read them: the local server's `GET /metrics` parsed by Prometheus' own
//! Python parser, and emulated AWS's EMF documents (each function's stdout) checked
//! against the EMF specification's structure and summed as CloudWatch would.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use skiff_contract_tests::{TestHost, assert_problem, eventually, unique_email};

/// Every counter the host has recorded so far, by name (and labels other than
/// `service`), as the metric sink's reader would total them.
async fn counters(host: &TestHost) -> BTreeMap<String, f64> {
    if let Some(text) = host.prometheus_text().await {
        return parse_prometheus(&text);
    }
    if let Some(envelopes) = host.app_insights_envelopes() {
        return app_insights_totals(&envelopes);
    }
    let lines = host
        .function_stdout()
        .expect("a host with readable metrics");
    let mut totals = BTreeMap::new();
    for (function, line) in lines {
        let Ok(document) = serde_json::from_str::<Value>(&line) else {
            panic!("{function} wrote a stdout line that is not JSON: {line}");
        };
        if let Err(e) = skiff::telemetry::emf::validate(&document) {
            panic!("{function} wrote an invalid EMF document ({e}): {line}");
        }
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            let dimensions: Vec<&str> = directive["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .filter(|d| !["service", "function_name"].contains(d))
                .collect();
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                let mut key = name.to_owned();
                if !dimensions.is_empty() {
                    let labels: Vec<String> = dimensions
                        .iter()
                        .map(|d| format!("{d}={}", document[*d].as_str().unwrap()))
                        .collect();
                    key = format!("{name}{{{}}}", labels.join(","));
                }
                *totals.entry(key).or_default() += document[name].as_f64().unwrap();
            }
        }
    }
    totals
}

/// The counters' totals as Application Insights' `customMetrics` would sum them
/// (`sum(valueSum)` by name and custom dimensions other than `service`).
fn app_insights_totals(envelopes: &[Value]) -> BTreeMap<String, f64> {
    let mut totals = BTreeMap::new();
    for envelope in envelopes {
        if let Err(e) = skiff::telemetry::app_insights::validate(envelope) {
            panic!("an invalid Application Insights envelope ({e}): {envelope}");
        }
        let base = &envelope["data"]["baseData"];
        let point = &base["metrics"][0];
        let mut key = point["name"].as_str().unwrap().to_owned();
        let labels: Vec<String> = base["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.as_str() != "service")
            .map(|(name, value)| format!("{name}={}", value.as_str().unwrap()))
            .collect();
        if !labels.is_empty() {
            key = format!("{key}{{{}}}", labels.join(","));
        }
        *totals.entry(key).or_default() += point["value"].as_f64().unwrap();
    }
    totals
}

fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let python = std::env::var("SKIFF_TEST_METRICS_PYTHON").expect(
        "SKIFF_TEST_METRICS_PYTHON: a Python with prometheus_client (tests/run installs it)",
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/prometheus_counters.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run prometheus_counters.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("counters as JSON")
}

fn count(counters: &BTreeMap<String, f64>, name: &str) -> f64 {
    counters.get(name).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn the_counters_count_what_the_flows_did() {
    let host = TestHost::start_measured();

    // Six wrong passwords: five refused for the password, the sixth by the lock.
    let locked = unique_email();
    assert_eq!(
        host.register(&locked, "correct horse battery staple")
            .await
            .status(),
        201
    );
    for _ in 0..5 {
        assert_problem(host.login(&locked, "wrong password!").await, 401).await;
    }
    assert_problem(host.login(&locked, "wrong password!").await, 429).await;

    // One login; its refresh token rotated once, then the spent one presented again.
    let account = host.account().await;
    let refresh = json!({ "refresh_token": account.refresh_token });
    assert_eq!(
        host.post_json("/auth/refresh", &refresh).await.status(),
        200
    );
    assert_problem(host.post_json("/auth/refresh", &refresh).await, 401).await;

    // A second session runs one job.
    let second = host.login_ok(&account.email).await;
    let token = second["access_token"].as_str().unwrap();
    let submitted = host
        .post_auth("/jobs", token, &json!({"kind": "echo", "input": {"n": 1}}))
        .await;
    assert_eq!(submitted.status(), 202);

    let counters = eventually("the job's outcome to be counted", 30, || async {
        let counters = counters(&host).await;
        (count(&counters, "JobsSucceeded") >= 1.0).then_some(counters)
    })
    .await;
    let expected = [
        ("LoginsFailed", 5.0),
        ("LoginsThrottled", 1.0),
        ("LoginsSucceeded", 2.0),
        ("RefreshRotations", 1.0),
        ("RefreshReuseDetected", 1.0),
        ("JobsSubmitted", 1.0),
        ("JobsSucceeded", 1.0),
        ("JobsFailed", 0.0),
        ("BatchItemFailures", 0.0),
    ];
    for (name, value) in expected {
        assert_eq!(count(&counters, name), value, "{name} in {counters:?}");
    }
    // No user id, email or token reaches a metric's name or labels.
    for name in counters.keys() {
        for secret in [
            &account.user_id,
            &account.email,
            &locked,
            &account.refresh_token,
        ] {
            assert!(!name.contains(secret.as_str()), "{name}");
        }
    }
    if host.function_stdout().is_some() {
        // Lambda: every function environment counts its cold start once.
        assert!(count(&counters, "ColdStart") >= 1.0, "{counters:?}");
    }
}
