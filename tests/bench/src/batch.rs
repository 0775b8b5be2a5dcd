//! The SQS batch benchmark: batches of 10 echo jobs, handled by the Rust worker
//! function and by the Python peer (`peer/job_worker.py`: Powertools'
//! BatchProcessor under awslambdaric), against the same moto. Each side gets its
//! own fresh jobs, created through the jobs function as a client would. What is
//! compared is CPU time per batch, which leaves out the time both sides spend
//! waiting for their backend round trips; the two take turns batch by batch.

use serde_json::{Value, json};

use crate::config::BenchConfig;
use crate::events::{Fixtures, body_of};
use crate::measure::{self, BenchError, Cpu, Request, Side};
use crate::scenarios::{BenchUser, new_user, sqs_event};
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

/// `count` queued echo jobs of one user, as `(job_id, user_id)` messages.
async fn queued_jobs(
    fixtures: &Fixtures,
    login: &Subject,
    jobs: &Subject,
    count: usize,
) -> Result<Vec<String>, BenchError> {
    let BenchUser {
        email,
        user_id,
        access_token,
    } = new_user(fixtures, login, "bench-batch").await?;
    let submit = fixtures.load(
        "apigw/jobs/submit-echo.json",
        &[
            ("email", email.as_str()),
            ("access_token", access_token.as_str()),
        ],
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
        .map(|chunk| sqs_event("batch of 10 echo jobs", chunk.to_vec()))
        .collect()
}

/// `config.batch_rounds` comparisons of `config.batches` batches per side, one
/// after another, each on jobs of its own: a ratio that holds in every round holds
/// on this machine, not in one lucky stretch of it.
pub async fn run(
    config: &BenchConfig,
    env: &[(String, String)],
    fixtures: &Fixtures,
    login: &Subject,
    python_worker: &Subject,
) -> Result<Vec<BatchFigures>, BenchError> {
    let (batches, rounds) = (config.batches, config.batch_rounds);
    eprintln!(
        "SQS batches of 10 echo jobs: {rounds} rounds of {batches} per side, Rust worker and Python peer"
    );
    let jobs = crate::scenarios::binary(config, "jobs", env);
    let worker = crate::scenarios::binary(config, "worker", env);
    let per_side = (batches + 1) * JOBS_PER_BATCH;
    let mut figures = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let rust_jobs = queued_jobs(fixtures, login, &jobs, per_side).await?;
        let python_jobs = queued_jobs(fixtures, login, &jobs, per_side).await?;
        let (rust_batches, python_batches) = (batches_of(rust_jobs), batches_of(python_jobs));
        let sides = [
            Side {
                subject: &worker,
                requests: &rust_batches,
            },
            Side {
                subject: python_worker,
                requests: &python_batches,
            },
        ];
        let mut round = measure::cpu_interleaved(&sides, all_handled)
            .await?
            .into_iter();
        match (round.next(), round.next()) {
            (Some(rust), Some(python)) => figures.push(BatchFigures { rust, python }),
            _ => return Err("the interleaved measurement lost a side".into()),
        }
    }
    Ok(figures)
}
