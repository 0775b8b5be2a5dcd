//! The SQS batch benchmark: batches of 10 echo jobs, handled by the Rust worker
//! function and by the Python peer (`peer/job_worker.py`: Powertools'
//! BatchProcessor under awslambdaric), against the same moto. Each side gets its
//! own fresh jobs, created through the jobs function as a client would. What is
//! compared is CPU time per batch, which leaves out the time both sides spend
//! waiting for their backend round trips.

use serde_json::{Value, json};

use crate::config::BenchConfig;
use crate::events::{Fixtures, body_of};
use crate::measure::{self, BenchError, Cpu, Request};
use crate::subject::Subject;

pub const JOBS_PER_BATCH: usize = 10;

pub struct BatchFigures {
    pub rust: Cpu,
    pub python: Cpu,
}

/// The answer of an SQS consumer that handled every record.
fn all_handled(answer: &Value) -> Result<(), String> {
    match answer.get("batchItemFailures").and_then(Value::as_array) {
        Some(failures) if failures.is_empty() => Ok(()),
        _ => Err(format!("not every record was handled: {answer}")),
    }
}

fn sqs_batch(label: &'static str, bodies: Vec<String>) -> Request {
    let event = json!({
        "Records": bodies.iter().enumerate().map(|(i, body)| json!({
            "messageId": format!("b-{i}"),
            "receiptHandle": format!("handle-{i}"),
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1"
        })).collect::<Vec<_>>()
    });
    Request {
        label,
        event: Box::new(move |_| event.clone()),
        status: None,
    }
}

/// `count` queued echo jobs of one user, as `(job_id, user_id)` messages.
async fn queued_jobs(
    fixtures: &Fixtures,
    login: &Subject,
    jobs: &Subject,
    count: usize,
) -> Result<Vec<String>, BenchError> {
    let email = format!("bench-batch-{}@example.com", uuid::Uuid::new_v4().simple());
    let fills = |extra: Vec<(&'static str, String)>| {
        let mut fills = vec![("email", email.clone())];
        fills.extend(extra);
        fills
    };
    let load = |file: &str, fills: Vec<(&'static str, String)>| -> Result<Value, String> {
        let borrowed: Vec<(&str, &str)> = fills.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fixtures.load(file, &borrowed)
    };
    let register = load("apigw/login/register.json", fills(vec![]))?;
    let log_in = load("apigw/login/login.json", fills(vec![]))?;
    let setup = [
        Request {
            label: "register",
            event: Box::new(move |_| register.clone()),
            status: Some(201),
        },
        Request {
            label: "login",
            event: Box::new(move |_| log_in.clone()),
            status: Some(200),
        },
    ];
    let (_, answers) = measure::warm(login, &setup, &[], 0).await?;
    let user_id = answers
        .first()
        .and_then(body_of)
        .and_then(|b| b["user_id"].as_str().map(str::to_owned))
        .ok_or("register returned no user_id")?;
    let access_token = answers
        .get(1)
        .and_then(body_of)
        .and_then(|b| b["access_token"].as_str().map(str::to_owned))
        .ok_or("login returned no access_token")?;
    let submit = load(
        "apigw/jobs/submit-echo.json",
        fills(vec![("access_token", access_token)]),
    )?;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let request = Request {
        label: "POST /jobs (echo)",
        event: Box::new(move |i| {
            // A key per job: the fixture's one key would return the same job again.
            let mut event = submit.clone();
            event["headers"]["idempotency-key"] = json!(format!("batch-{run}-{i}"));
            event
        }),
        status: Some(202),
    };
    measure::collect(jobs, &request, count)
        .await?
        .iter()
        .map(|answer| {
            let job_id = body_of(answer)
                .and_then(|b| b["job_id"].as_str().map(str::to_owned))
                .ok_or("POST /jobs returned no job_id")?;
            Ok(json!({"job_id": job_id, "user_id": user_id}).to_string())
        })
        .collect()
}

/// One warm-up batch and `batches` measured ones, each of new jobs.
fn batches_of(messages: Vec<String>) -> Vec<Request> {
    messages
        .chunks(JOBS_PER_BATCH)
        .map(|chunk| sqs_batch("batch of 10 echo jobs", chunk.to_vec()))
        .collect()
}

pub async fn run(
    config: &BenchConfig,
    env: &[(String, String)],
    fixtures: &Fixtures,
    login: &Subject,
    python_worker: &Subject,
    batches: usize,
) -> Result<BatchFigures, BenchError> {
    let jobs = crate::scenarios::binary(config, "jobs", env);
    let worker = crate::scenarios::binary(config, "worker", env);
    let per_side = (batches + 1) * JOBS_PER_BATCH;
    let rust_jobs = queued_jobs(fixtures, login, &jobs, per_side).await?;
    let python_jobs = queued_jobs(fixtures, login, &jobs, per_side).await?;
    let rust = measure::cpu(&worker, &batches_of(rust_jobs), all_handled).await?;
    let python = measure::cpu(python_worker, &batches_of(python_jobs), all_handled).await?;
    Ok(BatchFigures { rust, python })
}
