//! The load generator: closed-loop clients, each sending its next request as soon as
//! its last one is answered, until a request count or a time limit is reached,
//! whichever comes first. Written here rather than pinned (wrk, oha): the same loop
//! drives both an HTTP server and a Lambda Runtime API, where a request is an event
//! queued for the function, and every answer is checked against the contract, so a
//! fast error is never counted as throughput.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::stats::{Summary, summarize};

/// A lock a client's check records into. A poisoned lock only means another client
/// task panicked, which the run reports as that client's error; the data is sound.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How one answer counts.
#[derive(Debug)]
pub enum Verdict {
    /// The answer the request was sent for.
    Ok,
    /// A contract answer for a bound that was hit: 503 with `Retry-After` (a hash
    /// queue that timed out, a write that lost every retry).
    Refused,
    /// Anything else: a 5xx without `Retry-After`, a wrong status, a broken
    /// connection. Its description is kept (the first one) for the report.
    Error(String),
}

/// When a run of one cell stops.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub requests: usize,
    pub time: Duration,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadRun {
    pub clients: usize,
    pub ok: usize,
    pub refused: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Summary,
}

impl LoadRun {
    /// Answers per second, every kind counted (a refusal is an answer too).
    pub fn throughput(&self) -> f64 {
        let answers = (self.ok + self.refused + self.errors) as f64;
        answers / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs one closed-loop client per context in `clients`, all at once. `call` sends
/// request number `i` (counted over all clients) as that client and judges the
/// answer. The clients are tokio tasks, so on a multi-threaded runtime the
/// generator uses every core the server under test also uses: the floor measured
/// with the same generator pays the same cost.
pub async fn closed_loop<C, F, Fut>(clients: Vec<C>, bounds: Bounds, call: F) -> LoadRun
where
    C: Send + Sync + 'static,
    F: Fn(Arc<C>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Verdict> + Send,
{
    let count = clients.len();
    let issued = Arc::new(AtomicUsize::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let deadline = started + bounds.time;
    let mut tasks = Vec::with_capacity(count);
    for client in clients {
        let (client, issued, call) = (Arc::new(client), issued.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= bounds.requests || Instant::now() >= deadline {
                    return mine;
                }
                let sent = Instant::now();
                let verdict = call(client.clone(), i).await;
                mine.push((sent.elapsed(), verdict));
            }
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mine) => answers.extend(mine),
            Err(e) => answers.push((Duration::ZERO, Verdict::Error(format!("client task: {e}")))),
        }
    }
    let elapsed = started.elapsed();
    let latencies: Vec<Duration> = answers.iter().map(|(d, _)| *d).collect();
    let mut run = LoadRun {
        clients: count,
        ok: 0,
        refused: 0,
        errors: 0,
        first_error: None,
        elapsed,
        latency: summarize(&latencies),
    };
    for (_, verdict) in answers {
        match verdict {
            Verdict::Ok => run.ok += 1,
            Verdict::Refused => run.refused += 1,
            Verdict::Error(e) => {
                run.errors += 1;
                run.first_error.get_or_insert(e);
            }
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stops_at_the_request_count_and_counts_every_kind() {
        let bounds = Bounds {
            requests: 30,
            time: Duration::from_secs(30),
        };
        let run = closed_loop(vec![(); 4], bounds, |_, i| async move {
            match i % 3 {
                0 => Verdict::Ok,
                1 => Verdict::Refused,
                _ => Verdict::Error(format!("request {i}")),
            }
        })
        .await;
        assert_eq!((run.ok, run.refused, run.errors), (10, 10, 10));
        assert_eq!(run.latency.count, 30);
        assert!(run.first_error.is_some_and(|e| e.starts_with("request ")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stops_at_the_time_limit() {
        let bounds = Bounds {
            requests: usize::MAX,
            time: Duration::from_millis(200),
        };
        let run = closed_loop(vec![(); 2], bounds, |_, _| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Verdict::Ok
        })
        .await;
        // Two clients, 20 ms a request, 200 ms: about 20 answers, never unbounded.
        assert!(run.ok > 0 && run.ok < 40, "{run:?}");
        assert_eq!(run.errors, 0);
    }
}
