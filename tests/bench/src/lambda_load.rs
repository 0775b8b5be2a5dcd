//! One Lambda execution environment under concurrent invocations, as Lambda Managed
//! Instances runs it: the function started with `AWS_LAMBDA_MAX_CONCURRENCY` = the
//! concurrency (unset at 1, the classic loop), and that many invocations kept in
//! flight through the benchmark's Runtime API. Throughput, latency and the
//! process's peak RSS per concurrency, each in a fresh environment.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::BenchConfig;
use crate::delay_proxy::DelayProxy;
use crate::events::{Fixtures, body_of};
use crate::load::{Bounds, LoadRun, Verdict, closed_loop, lock};
use crate::measure::{self, BenchError, Environment, Request};
use crate::scenarios::{binary, new_user, sqs_event};
use crate::subject::{Subject, peak_rss_kib};
use skiff_bench::runtime_api::RuntimeApi;

/// Invocations in flight in one environment.
pub const LEVELS: [usize; 3] = [1, 4, 16];

/// What the session store behind the delay proxy adds to every answer: a
/// single-digit-millisecond read, as DynamoDB's.
pub const BACKEND_DELAY: Duration = Duration::from_millis(5);

/// SQS batches each concurrency gets, per invocation in flight.
const BATCHES_PER_SLOT: usize = 4;

pub const GET_SESSION: &str = "GET /session";
pub const POST_JOBS: &str = "POST /jobs";
pub const SQS_BATCH: &str = "SQS batch of 10 echo jobs (worker)";

/// One route at every concurrency: the run and the environment's peak RSS (KiB).
pub struct LambdaRow {
    pub label: &'static str,
    pub backend: String,
    pub runs: Vec<(LoadRun, u64)>,
}

type Judge = Arc<dyn Fn(&Value) -> Verdict + Send + Sync>;

/// An HTTP answer: `expected` is the answer, 503 with `Retry-After` a contract refusal.
fn http_judge(expected: u64) -> impl Fn(&Value) -> Verdict + Send + Sync {
    move |answer| match answer.get("statusCode").and_then(Value::as_u64) {
        Some(status) if status == expected => Verdict::Ok,
        Some(503) if retry_after(answer) => Verdict::Refused,
        _ => Verdict::Error(truncate(answer)),
    }
}

fn retry_after(answer: &Value) -> bool {
    answer
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("retry-after")))
}

fn truncate(answer: &Value) -> String {
    let text = answer.to_string();
    text.chars().take(300).collect()
}

fn every_record_handled(answer: &Value) -> Verdict {
    match answer.get("batchItemFailures").and_then(Value::as_array) {
        Some(failures) if failures.is_empty() => Verdict::Ok,
        _ => Verdict::Error(truncate(answer)),
    }
}

/// `subject` at concurrency `c`: a fresh environment, `c` unmeasured `warm`
/// invocations at once (each concurrent loop opens its connections), then the
/// closed loop.
async fn cell(
    subject: &Subject,
    c: usize,
    warm: &Request,
    request: Arc<Request>,
    judge: Judge,
    bounds: Bounds,
) -> Result<(LoadRun, u64), BenchError> {
    let mut subject = subject.clone();
    if c > 1 {
        subject
            .env
            .push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), c.to_string()));
    }
    let api = Arc::new(RuntimeApi::start().await?);
    let environment = Environment(subject.spawn(api.address)?);
    let warm_ups = (0..c).map(|i| measure::call(&api, warm, i));
    for answer in futures_util::future::join_all(warm_ups).await {
        answer?;
    }
    let run = closed_loop(vec![(); c], bounds, move |_, i| {
        let (api, request, judge) = (api.clone(), request.clone(), judge.clone());
        async move {
            match measure::call(&api, &request, i).await {
                Ok(answer) => judge(&answer),
                Err(e) => Verdict::Error(e.to_string()),
            }
        }
    })
    .await;
    Ok((run, peak_rss_kib(&environment.0).unwrap_or(0)))
}

pub async fn run(
    config: &BenchConfig,
    env: &[(String, String)],
    fixtures: &Fixtures,
    bounds: Bounds,
) -> Result<Vec<LambdaRow>, BenchError> {
    let mut rows = Vec::new();

    // GET /session with sessions on Redis behind the delay proxy: the user logs in
    // on Redis directly, the session function reads through the proxy.
    let redis: std::net::SocketAddr = config
        .redis_url
        .trim_start_matches("redis://")
        .parse()
        .map_err(|e| format!("SKIFF_BENCH_REDIS_URL {}: {e}", config.redis_url))?;
    let proxy = DelayProxy::start(redis, BACKEND_DELAY).await?;
    let with_store = |url: String| {
        let mut env = env.to_vec();
        env.push(("SKIFF_SESSION_STORE".into(), url));
        env
    };
    let login = binary(config, "login", &with_store(config.redis_url.clone()));
    let session = binary(
        config,
        "session",
        &with_store(format!("redis://{}", proxy.address)),
    );
    let token = new_user(fixtures, &login, "bench-load-session")
        .await?
        .access_token;
    let get_session = Arc::new(crate::scenarios::fixture(
        fixtures,
        GET_SESSION,
        "apigw/session/get-session.json",
        vec![("access_token", token.clone())],
        200,
    )?);
    let mut runs = Vec::new();
    for c in LEVELS {
        runs.push(
            cell(
                &session,
                c,
                &get_session,
                get_session.clone(),
                Arc::new(http_judge(200)),
                bounds,
            )
            .await?,
        );
    }
    rows.push(LambdaRow {
        label: GET_SESSION,
        backend: format!(
            "sessions on Redis behind a {} ms delay",
            BACKEND_DELAY.as_millis()
        ),
        runs,
    });

    // POST /jobs on moto: a DynamoDB write and an SQS send per job. The jobs made
    // here are the ones the worker runs below.
    let login = binary(config, "login", env);
    let jobs = binary(config, "jobs", env);
    let user = new_user(fixtures, &login, "bench-load-jobs").await?;
    let submit = fixtures.load(
        "apigw/jobs/submit-echo.json",
        &[
            ("email", user.email.as_str()),
            ("access_token", user.access_token.as_str()),
        ],
    )?;
    let made: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut runs = Vec::new();
    for c in LEVELS {
        let submit = submit.clone();
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let post = Arc::new(Request {
            label: POST_JOBS,
            event: Box::new(move |i| {
                let mut event = submit.clone();
                event["headers"]["idempotency-key"] = json!(format!("load-{run_id}-{i}"));
                event
            }),
            status: None,
        });
        let (made, user_id) = (made.clone(), user.user_id.clone());
        let judge = http_judge(202);
        let judge: Judge = Arc::new(move |answer| {
            let verdict = judge(answer);
            if matches!(verdict, Verdict::Ok)
                && let Some(id) =
                    body_of(answer).and_then(|b| b["job_id"].as_str().map(str::to_owned))
            {
                lock(&made).push(json!({"job_id": id, "user_id": user_id}).to_string());
            }
            verdict
        });
        runs.push(cell(&jobs, c, &post, post.clone(), judge, bounds).await?);
    }
    rows.push(LambdaRow {
        label: POST_JOBS,
        backend: "moto (one request at a time)".into(),
        runs,
    });

    // The worker on batches of those jobs: each job read, moved to running and to
    // succeeded, and its event published (four round trips to moto).
    let mut messages = std::mem::take(&mut *lock(&made));
    let needed: usize = LEVELS.iter().map(|c| c * BATCHES_PER_SLOT * 10).sum();
    if messages.len() < needed {
        let submit = submit.clone();
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let more = Request {
            label: POST_JOBS,
            event: Box::new(move |i| {
                let mut event = submit.clone();
                event["headers"]["idempotency-key"] = json!(format!("top-up-{run_id}-{i}"));
                event
            }),
            status: Some(202),
        };
        for answer in measure::collect(&jobs, &more, needed - messages.len()).await? {
            let id = body_of(&answer)
                .and_then(|b| b["job_id"].as_str().map(str::to_owned))
                .ok_or("POST /jobs returned no job_id")?;
            messages.push(json!({"job_id": id, "user_id": user.user_id}).to_string());
        }
    }
    let worker = binary(config, "worker", env);
    let gone = json!({"job_id": "0190c1d2-0000-7000-8000-000000000000", "user_id": user.user_id})
        .to_string();
    let warm = sqs_event(
        "batch of 10 messages for a job that is gone",
        vec![gone; 10],
    );
    let mut runs = Vec::new();
    for c in LEVELS {
        let count = c * BATCHES_PER_SLOT;
        let take = (count * 10).min(messages.len());
        let batches: Vec<Value> = messages
            .drain(..take)
            .collect::<Vec<_>>()
            .chunks(10)
            .map(|chunk| (sqs_event(SQS_BATCH, chunk.to_vec()).event)(0))
            .collect();
        if batches.is_empty() {
            return Err("no queued jobs left for the worker's batches".into());
        }
        let request = Arc::new(Request {
            label: SQS_BATCH,
            event: Box::new(move |i| batches[i % batches.len()].clone()),
            status: None,
        });
        let bounds = Bounds {
            requests: count,
            ..bounds
        };
        runs.push(
            cell(
                &worker,
                c,
                &warm,
                request,
                Arc::new(every_record_handled),
                bounds,
            )
            .await?,
        );
    }
    rows.push(LambdaRow {
        label: SQS_BATCH,
        backend: "moto (one request at a time)".into(),
        runs,
    });
    Ok(rows)
}
