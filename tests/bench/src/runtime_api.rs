//! A Lambda Runtime API (the 2018-06-01 interface every runtime client polls), so
//! the benchmark owns the clock: it queues an event, and the function's response
//! POST is the moment the invocation is done. One instance per function process;
//! a process in concurrent mode (`AWS_LAMBDA_MAX_CONCURRENCY`) polls it many times
//! at once, and each poll gets its own event.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Notify, oneshot};

/// How a function answered one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

/// An invocation waiting for a `/next` poll.
struct Pending {
    id: String,
    trace_id: String,
    event: Bytes,
}

/// The X-Ray trace id of an invocation queued without one of its own.
const UNSAMPLED_TRACE: &str = "Root=1-00000000-000000000000000000000000;Sampled=0";

#[derive(Default)]
struct Queue {
    pending: Mutex<VecDeque<Pending>>,
    arrived: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// `/next` requests waiting for an event right now.
    polls: AtomicUsize,
}

/// Counts a `/next` request as waiting until it is answered or dropped.
struct Poll<'a>(&'a AtomicUsize);

impl<'a> Poll<'a> {
    fn start(polls: &'a AtomicUsize) -> Self {
        polls.fetch_add(1, Ordering::SeqCst);
        Self(polls)
    }
}

impl Drop for Poll<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    queue: Arc<Queue>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(queue.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            // The server ends only when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            queue,
            server,
        })
    }

    /// How many `/next` requests are waiting for an event: how many invocations
    /// the function is ready to take at once.
    pub fn polls_waiting(&self) -> usize {
        self.queue.polls.load(Ordering::SeqCst)
    }

    /// Queues `event` and returns a receiver for the function's answer.
    pub fn invoke(&self, event: Bytes) -> oneshot::Receiver<Outcome> {
        self.invoke_as(uuid::Uuid::new_v4().to_string(), event)
    }

    /// [`invoke`](Self::invoke) with the request id Lambda would give it.
    pub fn invoke_as(&self, id: String, event: Bytes) -> oneshot::Receiver<Outcome> {
        self.invoke_traced(id, UNSAMPLED_TRACE.to_owned(), event)
    }

    /// [`invoke_as`](Self::invoke_as) with the X-Ray trace id Lambda would give it
    /// (its `Lambda-Runtime-Trace-Id` header).
    pub fn invoke_traced(
        &self,
        id: String,
        trace_id: String,
        event: Bytes,
    ) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        lock(&self.queue.waiting).insert(id.clone(), tx);
        lock(&self.queue.pending).push_back(Pending {
            id,
            trace_id,
            event,
        });
        self.queue.arrived.notify_one();
        rx
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A poisoned lock only means another handler panicked; the queue is still sound.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn next(State(queue): State<Arc<Queue>>) -> impl IntoResponse {
    let _poll = Poll::start(&queue.polls);
    loop {
        let notified = queue.arrived.notified();
        if let Some(Pending {
            id,
            trace_id,
            event,
        }) = lock(&queue.pending).pop_front()
        {
            let mut headers = HeaderMap::new();
            // awslambdaric hands the handler raw bytes unless the event says it is JSON.
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            let deadline = time::OffsetDateTime::now_utc() + Duration::from_secs(30);
            let deadline_ms = deadline.unix_timestamp_nanos() / 1_000_000;
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
                ),
                ("lambda-runtime-trace-id", trace_id),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            return (StatusCode::OK, headers, event);
        }
        notified.await;
    }
}

fn finish(queue: &Queue, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&queue.waiting).remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn response(
    State(queue): State<Arc<Queue>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&queue, &id, Outcome::Response(body))
}

async fn error(State(queue): State<Arc<Queue>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&queue, &id, Outcome::Error(body))
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!("function init error: {}", String::from_utf8_lossy(&body));
    StatusCode::ACCEPTED
}
