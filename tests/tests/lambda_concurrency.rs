//! Lambda Managed Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` = 8, one execution
//! environment of a Skiff function asks its Runtime API for eight invocations at
//! once, and each invocation keeps its own request id and its own X-Ray trace id on
//! the AWS calls it makes. Driven through the benchmark's Runtime API, which counts
//! the `/next` polls waiting on it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use skiff_bench::runtime_api::{Outcome, RuntimeApi};
use skiff_contract_tests::{eventually, shared_key};

/// A function as the workspace build leaves it (`make test` builds them).
fn function_binary(name: &str) -> PathBuf {
    std::env::var("SKIFF_LAMBDA_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug"))
        .join(name)
}

/// Kills the environment when the test ends, however it ends.
struct Environment(Child);

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One execution environment of function `name` polling `api`, with what Lambda
/// sets and what every Skiff function needs, plus `settings`; no backend call at
/// init. With `max_concurrency`, as Lambda Managed Instances starts it.
fn start_function(
    name: &str,
    api: &RuntimeApi,
    max_concurrency: Option<&str>,
    settings: &[(&str, &str)],
) -> Environment {
    let mut command = Command::new(function_binary(name));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("SKIFF_ISSUER", "https://api.example.test")
        .env("SKIFF_WARM_UP", "false")
        .env("SKIFF_LOG", "warn")
        .envs(settings.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(n) = max_concurrency {
        command.env("AWS_LAMBDA_MAX_CONCURRENCY", n);
    }
    Environment(command.spawn().expect("spawn the function"))
}

fn start_session(api: &RuntimeApi, max_concurrency: Option<&str>) -> Environment {
    let keys = skiff::auth::KeyRing::from_private_pems(&[&shared_key().private_pem]).unwrap();
    let jwks = serde_json::to_string(&keys.public_keys().jwks()).unwrap();
    // GET /health makes no backend call.
    let settings = [("SKIFF_TABLE", "unused"), ("SKIFF_JWKS", jwks.as_str())];
    start_function("session", api, max_concurrency, &settings)
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

/// An AWS endpoint that answers every call with `{}` (DynamoDB: no such item) and
/// keeps the `x-amzn-trace-id` each call carried.
async fn recording_endpoint() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let traces = Arc::new(Mutex::new(Vec::new()));
    let kept = traces.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let kept = kept.clone();
        async move {
            let trace = headers
                .get("x-amzn-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            kept.lock().unwrap().push(trace);
            ([("content-type", "application/x-amz-json-1.0")], "{}")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, traces)
}

/// The worker, its AWS calls sent to `endpoint`.
fn start_worker(api: &RuntimeApi, endpoint: &str, max_concurrency: Option<&str>) -> Environment {
    let settings = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("SKIFF_TABLE", "jobs"),
        (
            "SKIFF_EVENTS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:events",
        ),
    ];
    start_function("worker", api, max_concurrency, &settings)
}

/// A batch of one message for a job that does not exist: one DynamoDB read.
fn batch_of_one_gone_job(n: usize) -> axum::body::Bytes {
    let body = serde_json::json!({
        "job_id": format!("01a20294-d0dc-71e0-9f27-{n:012}"),
        "user_id": "9b2f1c3e-5d4a-4e6f-8a7b-1c2d3e4f5a6b",
    });
    let event = serde_json::json!({"Records": [{
        "messageId": format!("m-{n}"),
        "receiptHandle": format!("handle-{n}"),
        "body": body.to_string(),
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "awsRegion": "us-east-1",
    }]});
    serde_json::to_vec(&event).unwrap().into()
}

/// Eight batches in flight in one environment (or one at a time, in the classic
/// loop): each one's DynamoDB read carries the trace id Lambda gave that
/// invocation, as X-Ray needs to join the call to it.
async fn every_aws_call_carries_its_invocations_trace_id(max_concurrency: Option<&str>) {
    let api = RuntimeApi::start().await.unwrap();
    let (endpoint, traces) = recording_endpoint().await;
    let _environment = start_worker(&api, &endpoint, max_concurrency);
    let polls = max_concurrency.map_or(1, |n| n.parse().unwrap());
    eventually("the worker polling", 30, || async {
        (api.polls_waiting() == polls).then_some(())
    })
    .await;
    let sent: Vec<String> = (0..8)
        .map(|n| format!("Root=1-6753a1f0-{n:024};Parent=53995c3f42cd8ad8;Sampled=1"))
        .collect();
    let answers: Vec<_> = sent
        .iter()
        .enumerate()
        .map(|(n, trace)| {
            api.invoke_traced(
                format!("batch-{n}"),
                trace.clone(),
                batch_of_one_gone_job(n),
            )
        })
        .collect();
    for answer in answers {
        let Outcome::Response(body) = answer.await.expect("answered") else {
            panic!("the worker reported an error");
        };
        let response: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            response["batchItemFailures"],
            serde_json::json!([]),
            "{response}"
        );
    }
    let mut received: Vec<Option<String>> = traces.lock().unwrap().clone();
    received.sort();
    assert_eq!(received, sent.into_iter().map(Some).collect::<Vec<_>>());
}

#[tokio::test]
async fn with_eight_in_flight_each_aws_call_carries_its_own_invocations_trace_id() {
    every_aws_call_carries_its_invocations_trace_id(Some("8")).await;
}

#[tokio::test]
async fn one_at_a_time_each_aws_call_carries_its_invocations_trace_id() {
    every_aws_call_carries_its_invocations_trace_id(None).await;
}
