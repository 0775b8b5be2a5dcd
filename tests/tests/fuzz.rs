//! Schemathesis (PyPI, pinned by tests/run) attacks every operation of the host's own
//! `GET /openapi.json` with generated inputs, authenticated with a real token, and
//! in stateful sequences along the document's links (register → login → refresh,
//! a job → its status, a deletion → its status). Any server error, undocumented
//! status, content type, header or body fails the test. The run is bounded in
//! examples per operation and in time, so CI stays within its budget.

use std::time::Duration;

use skiff_contract_tests::{PASSWORD, TestHost, unique_email};

/// Seconds Schemathesis may spend on one host.
const TIME_BUDGET: &str = "40";

/// Every check but `positive_data_acceptance`, which expects a 2xx for any
/// schema-valid request: here a schema-valid `If-Match` that names an old version
/// must be 412, a cursor this API did not issue 400, and a reused
/// `Idempotency-Key` with another body 422, as the contract says.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,\
missing_required_header,unsupported_method,allow_header_conformance,use_after_free,\
ensure_resource_availability,ignored_auth";

#[tokio::test]
async fn schemathesis_finds_no_failure() {
    let schemathesis = std::env::var("SKIFF_TEST_SCHEMATHESIS")
        .expect("SKIFF_TEST_SCHEMATHESIS: the schemathesis CLI (tests/run installs it)");
    // The fuzzer fails thousands of logins from one address; the throttles would
    // soon lock out the token provider's own logins. Federated login is on, with
    // keys at an address nothing listens on (503 if a token ever got that far).
    let issuers = r#"[{"issuer":"https://issuer.example/pool","audiences":["client"],"jwks_uri":"http://127.0.0.1:9/keys"}]"#;
    let host = TestHost::start_with(&[
        ("SKIFF_LOCKOUT_MAX_FAILURES", "1000000"),
        ("SKIFF_LOCKOUT_CLIENT_MAX_FAILURES", "1000000"),
        ("SKIFF_LOCKOUT_ACCOUNT_MAX_FAILURES", "1000000"),
        ("SKIFF_FEDERATED_ISSUERS", issuers),
    ]);
    let email = unique_email();
    assert_eq!(host.register(&email, PASSWORD).await.status(), 201);

    let peers = concat!(env!("CARGO_MANIFEST_DIR"), "/peers");
    let run = tokio::process::Command::new(&schemathesis)
        .args(["run", &host.url("/openapi.json"), "--url", &host.base_url])
        .args(["--checks", CHECKS, "--max-examples", "10"])
        // One worker: CPython 3.11 was seen to fail compiling Schemathesis's own
        // strategies with two ("AST constructor recursion depth mismatch").
        .args(["--max-time", TIME_BUDGET, "--workers", "1", "--no-color"])
        .args(["--request-timeout", "20"])
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", peers)
        .env("SKIFF_FUZZ_BASE_URL", &host.base_url)
        .env("SKIFF_FUZZ_EMAIL", &email)
        .env("SKIFF_FUZZ_PASSWORD", PASSWORD)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("schemathesis finished within 5 minutes")
        .expect("schemathesis started");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "schemathesis failed:\n{report}");
    let count = |label: &str| -> String {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} line in the report"))
            .trim()
            .to_owned()
    };
    let selected = count("Selected:");
    let (chosen, all) = selected.split_once('/').expect("Selected: n/m");
    assert_eq!(chosen, all, "every operation is selected");
    assert_eq!(
        count("Tested:"),
        chosen,
        "every selected operation was tested"
    );
}
