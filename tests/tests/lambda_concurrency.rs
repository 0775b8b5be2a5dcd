//! Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` = 8, one execution
//! environment of a Skiff function asks its Runtime API for eight invocations at
//! once, and each invocation keeps its own request id. Driven through the
//! benchmark's Runtime API, which counts the `/next` polls waiting on it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use skiff_bench::runtime_api::{Outcome, RuntimeApi};
use skiff_contract_tests::{eventually, shared_key};

/// The session function as the workspace build leaves it (`make test` builds it).
fn session_binary() -> PathBuf {
    std::env::var("SKIFF_LAMBDA_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug"))
        .join("session")
}

/// Kills the environment when the test ends, however it ends.
struct Environment(Child);

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_session(api: &RuntimeApi, max_concurrency: Option<&str>) -> Environment {
    let keys = skiff::auth::KeyRing::from_private_pems(&[&shared_key().private_pem]).unwrap();
    let jwks = serde_json::to_string(&keys.public_keys().jwks()).unwrap();
    let mut command = Command::new(session_binary());
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "session")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("SKIFF_TABLE", "unused")
        .env("SKIFF_ISSUER", "https://api.example.test")
        .env("SKIFF_JWKS", jwks)
        // No backend call at init, and GET /health makes none either.
        .env("SKIFF_WARM_UP", "false")
        .env("SKIFF_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(n) = max_concurrency {
        command.env("AWS_LAMBDA_MAX_CONCURRENCY", n);
    }
    Environment(command.spawn().expect("spawn the session function"))
}

fn health_event(request_id: &str) -> axum::body::Bytes {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/apigw/session/health.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["requestContext"]["requestId"] = request_id.into();
    serde_json::to_vec(&event).unwrap().into()
}

#[tokio::test]
async fn one_environment_takes_eight_invocations_at_once_each_with_its_own_request_id() {
    let api = RuntimeApi::start().await.unwrap();
    let _environment = start_session(&api, Some("8"));
    eventually("eight /next polls waiting at once", 30, || async {
        (api.polls_waiting() == 8).then_some(())
    })
    .await;

    // Eight invocations queued together, each answered as its own: the request id
    // echoed in its response is Lambda's id for that invocation, not a neighbour's.
    let ids: Vec<String> = (0..8).map(|n| format!("invocation-{n}")).collect();
    let answers: Vec<_> = ids
        .iter()
        .map(|id| api.invoke_as(id.clone(), health_event(id)))
        .collect();
    for (id, answer) in ids.iter().zip(answers) {
        let Outcome::Response(body) = answer.await.expect("answered") else {
            panic!("{id}: the function reported an error");
        };
        let response: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(response["statusCode"], 200, "{id}: {response}");
        assert_eq!(
            response["headers"]["x-request-id"],
            id.as_str(),
            "{response}"
        );
    }
    // Every loop polls again for the next invocation.
    eventually("eight /next polls waiting again", 30, || async {
        (api.polls_waiting() == 8).then_some(())
    })
    .await;
}

#[tokio::test]
async fn without_the_variable_an_environment_takes_one_invocation_at_a_time() {
    let api = RuntimeApi::start().await.unwrap();
    let _environment = start_session(&api, None);
    eventually("the /next poll", 30, || async {
        (api.polls_waiting() == 1).then_some(())
    })
    .await;
    let Outcome::Response(body) = api
        .invoke_as("only".into(), health_event("only"))
        .await
        .unwrap()
    else {
        panic!("the function reported an error");
    };
    let response: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(response["headers"]["x-request-id"], "only");
    eventually("the next /next poll", 30, || async {
        (api.polls_waiting() == 1).then_some(())
    })
    .await;
    assert_eq!(
        api.polls_waiting(),
        1,
        "the classic loop polls once at a time"
    );
}
