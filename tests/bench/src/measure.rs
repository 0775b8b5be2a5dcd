//! The two measurements: a cold start (spawn → first response, event already
//! queued, as when Lambda starts an environment for a waiting request) and warm
//! invocations (one environment, one request after another).

use std::process::Child;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::subject::{Subject, cpu_time, peak_rss_kib};
use skiff_bench::runtime_api::{Outcome, RuntimeApi};

/// Generous: a Python init against moto takes about a second.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// One request: a label, the event, and the HTTP status the function must answer
/// with (None for non-HTTP events). A wrong status stops the benchmark, so a fast
/// error is never measured as a fast success.
pub struct Request {
    pub label: &'static str,
    pub event: Box<dyn Fn(usize) -> Value + Send + Sync>,
    pub status: Option<u16>,
}

pub struct Cold {
    pub samples: Vec<Duration>,
    pub peak_rss_kib: u64,
    /// The floor's cold starts, spawned in turn with these (floor, this, floor, …),
    /// for a row compared with the floor: a change in the shared machine's load
    /// during the run then falls on both, as it cannot between sections.
    pub floor_beside: Option<Vec<Duration>>,
}

pub struct Warm {
    pub routes: Vec<(&'static str, Vec<Duration>)>,
    pub peak_rss_kib: u64,
}

/// A process that is killed when dropped, so an early return leaves nothing behind.
pub(crate) struct Environment(pub(crate) Child);

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn call(
    api: &RuntimeApi,
    request: &Request,
    i: usize,
) -> Result<Value, BenchError> {
    let pending = queue(api, request, i)?;
    answer(pending, request).await
}

fn queue(
    api: &RuntimeApi,
    request: &Request,
    i: usize,
) -> Result<oneshot::Receiver<Outcome>, BenchError> {
    let event = serde_json::to_vec(&(request.event)(i))?;
    Ok(api.invoke(Bytes::from(event)))
}

async fn answer(
    pending: oneshot::Receiver<Outcome>,
    request: &Request,
) -> Result<Value, BenchError> {
    let answer = tokio::time::timeout(INVOCATION_TIMEOUT, pending)
        .await
        .map_err(|_| {
            format!(
                "{}: no response within {INVOCATION_TIMEOUT:?}",
                request.label
            )
        })??;
    let body = match answer {
        Outcome::Response(body) => body,
        Outcome::Error(body) => {
            return Err(format!(
                "{}: invocation error {}",
                request.label,
                String::from_utf8_lossy(&body)
            )
            .into());
        }
    };
    let value: Value = serde_json::from_slice(&body)?;
    if let Some(expected) = request.status {
        let status = value.get("statusCode").and_then(Value::as_u64);
        if status != Some(u64::from(expected)) {
            return Err(format!("{}: expected HTTP {expected}, got {value}", request.label).into());
        }
    }
    Ok(value)
}

pub async fn cold(subject: &Subject, request: &Request, spawns: usize) -> Result<Cold, BenchError> {
    cold_starts(None, subject, request, spawns).await
}

/// `spawns` cold starts of `subject`, each right after one of the `floor`, whose
/// samples come back in `floor_beside`: the ratio of the two then holds the
/// same machine load on both sides.
pub async fn cold_beside_floor(
    floor: (&Subject, &Request),
    subject: &Subject,
    request: &Request,
    spawns: usize,
) -> Result<Cold, BenchError> {
    cold_starts(Some(floor), subject, request, spawns).await
}

async fn cold_starts(
    floor: Option<(&Subject, &Request)>,
    subject: &Subject,
    request: &Request,
    spawns: usize,
) -> Result<Cold, BenchError> {
    let mut samples = Vec::with_capacity(spawns);
    let mut floor_samples = floor.map(|_| Vec::with_capacity(spawns));
    let mut peak = 0;
    for i in 0..spawns {
        if let (Some((floor, floor_request)), Some(beside)) = (floor, floor_samples.as_mut()) {
            beside.push(spawn_once(floor, floor_request, i).await?.0);
        }
        let (took, rss) = spawn_once(subject, request, i).await?;
        samples.push(took);
        peak = peak.max(rss);
    }
    Ok(Cold {
        samples,
        peak_rss_kib: peak,
        floor_beside: floor_samples,
    })
}

/// One fresh environment answering its first request: spawn → answer, and the
/// environment's peak RSS (KiB).
async fn spawn_once(
    subject: &Subject,
    request: &Request,
    i: usize,
) -> Result<(Duration, u64), BenchError> {
    let api = RuntimeApi::start().await?;
    let started = Instant::now();
    let pending = queue(&api, request, i)?;
    let environment = Environment(subject.spawn(api.address)?);
    answer(pending, request).await?;
    let took = started.elapsed();
    Ok((took, peak_rss_kib(&environment.0).unwrap_or(0)))
}

/// Runs `setup` once (unmeasured), then, per route, one unmeasured call and
/// `invocations` measured ones.
pub async fn warm(
    subject: &Subject,
    setup: &[Request],
    routes: &[Request],
    invocations: usize,
) -> Result<(Warm, Vec<Value>), BenchError> {
    let api = RuntimeApi::start().await?;
    let environment = Environment(subject.spawn(api.address)?);
    let mut setup_answers = Vec::new();
    for request in setup {
        setup_answers.push(call(&api, request, 0).await?);
    }
    let mut measured = Vec::new();
    for request in routes {
        // One unmeasured call first: the first invocation of an environment is its
        // cold start, and the first of a route may open a connection.
        call(&api, request, 0).await?;
        let mut samples = Vec::with_capacity(invocations);
        for i in 0..invocations {
            let started = Instant::now();
            call(&api, request, i).await?;
            samples.push(started.elapsed());
        }
        measured.push((request.label, samples));
    }
    let peak_rss_kib = peak_rss_kib(&environment.0).unwrap_or(0);
    Ok((
        Warm {
            routes: measured,
            peak_rss_kib,
        },
        setup_answers,
    ))
}

/// The answers of `count` calls of `request` (`i` = 0..count) in one environment:
/// how the benchmark makes the data it needs (jobs to run, say).
pub async fn collect(
    subject: &Subject,
    request: &Request,
    count: usize,
) -> Result<Vec<Value>, BenchError> {
    let api = RuntimeApi::start().await?;
    let _environment = Environment(subject.spawn(api.address)?);
    let mut answers = Vec::with_capacity(count);
    for i in 0..count {
        answers.push(call(&api, request, i).await?);
    }
    Ok(answers)
}

/// CPU and wall time of a run of invocations in one environment.
pub struct Cpu {
    pub invocations: usize,
    /// User + system time of the whole process (every thread) over the measured
    /// invocations: the function's own work, without the time it spent waiting for
    /// its backend.
    pub cpu: Duration,
    pub wall: Vec<Duration>,
    pub peak_rss_kib: u64,
}

/// One side of a CPU comparison: a subject and its requests, the first of which
/// warms its environment (unmeasured).
pub struct Side<'a> {
    pub subject: &'a Subject,
    pub requests: &'a [Request],
}

struct Running<'a> {
    side: &'a Side<'a>,
    api: RuntimeApi,
    environment: Environment,
    before: Duration,
    wall: Vec<Duration>,
}

/// Runs the sides' requests interleaved, each side in its own environment: the
/// first request of every side, then the second of every side, and so on. A side
/// waiting for its turn is blocked on the Runtime API and uses no CPU, while a
/// shared machine's load drifts over the run for every side alike, not for
/// whichever side happened to run second. `check` inspects every answer, so a
/// failed invocation is never counted.
pub async fn cpu_interleaved(
    sides: &[Side<'_>],
    check: impl Fn(&Value) -> Result<(), String>,
) -> Result<Vec<Cpu>, BenchError> {
    let mut running = Vec::with_capacity(sides.len());
    for side in sides {
        let first = side
            .requests
            .first()
            .ok_or("a CPU measurement needs a warm-up request and measured ones")?;
        let api = RuntimeApi::start().await?;
        let environment = Environment(side.subject.spawn(api.address)?);
        check(&call(&api, first, 0).await?)?;
        let before = cpu_time(&environment.0).ok_or("cannot read the process's CPU time")?;
        running.push(Running {
            side,
            api,
            environment,
            before,
            wall: Vec::with_capacity(side.requests.len()),
        });
    }
    let rounds = sides.iter().map(|s| s.requests.len()).max().unwrap_or(0);
    for i in 1..rounds {
        for run in &mut running {
            let Some(request) = run.side.requests.get(i) else {
                continue;
            };
            let started = Instant::now();
            let answer = call(&run.api, request, i).await?;
            run.wall.push(started.elapsed());
            check(&answer).map_err(|e| format!("{}: {e}", request.label))?;
        }
    }
    running
        .into_iter()
        .map(|run| {
            let after = cpu_time(&run.environment.0).ok_or("cannot read the process's CPU time")?;
            Ok(Cpu {
                invocations: run.wall.len(),
                cpu: after.saturating_sub(run.before),
                peak_rss_kib: peak_rss_kib(&run.environment.0).unwrap_or(0),
                wall: run.wall,
            })
        })
        .collect()
}
