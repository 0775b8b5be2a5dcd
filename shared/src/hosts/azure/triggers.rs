//! The queue-triggered functions, served at `/{FunctionName}` as the host invokes
//! them: the job worker, the notifier and the deletion workflow's steps. Each
//! answers 200 when the message is done (its output bindings are then written)
//! and 500 when the host must deliver it again. A request whose message does not
//! carry this handler's seal (a client's `POST /worker`, forwarded like any HTTP
//! request) gets the contract's 404 and nothing else; see `sealed_messages`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::outputs::BindingOutputs;
use super::protocol::{InvocationRequest, InvocationResponse};
use super::sealed_messages::{MessageSeal, SealedSink};
use crate::config::WorkSettings;
use crate::domain::Event;
use crate::error::Error;
use crate::hosts::chained::{ChainedQueues, MessageSink, run_step};
use crate::hosts::{deletion_steps, job_worker};
use crate::jobs::JobContext;
use crate::jobs::JobRegistry;
use crate::notifications::Notifier;
use crate::ports::JobMessage;
use crate::telemetry::correlation;
use crate::workflow::StepMessage;

/// Function names (the folders under `infra/azure/`) and binding names (their
/// `function.json`); a test keeps the two in step.
pub const WORKER: &str = "worker";
/// The events queue's function.
pub const NOTIFIER: &str = "notifier";
/// The deletion steps' function.
pub const WORKFLOW: &str = "workflow";
/// Every queue-triggered function the handler serves.
pub const FUNCTIONS: [&str; 3] = [WORKER, NOTIFIER, WORKFLOW];
/// The queue trigger's binding: `Data.message`.
pub const TRIGGER_BINDING: &str = "message";
/// Output bindings: events (to the notifier's queue) and next deletion steps.
pub const EVENTS_BINDING: &str = "events";
/// The output binding of the next deletion steps.
pub const STEPS_BINDING: &str = "steps";

/// The output bindings each queue function writes (its `function.json` must
/// declare them, with these names).
pub fn outputs_of(function: &str) -> &'static [&'static str] {
    match function {
        WORKER => &[EVENTS_BINDING],
        WORKFLOW => &[EVENTS_BINDING, STEPS_BINDING],
        _ => &[],
    }
}

/// The app setting naming each queue function's trigger queue (read by
/// `AzureConfig`), and each output binding's queue.
pub fn queue_setting(function_or_binding: &str) -> Option<&'static str> {
    match function_or_binding {
        WORKER => Some("SKIFF_JOBS_QUEUE"),
        NOTIFIER | EVENTS_BINDING => Some("SKIFF_EVENTS_QUEUE"),
        WORKFLOW | STEPS_BINDING => Some("SKIFF_STEPS_QUEUE"),
        _ => None,
    }
}

/// What the queue functions share, built once at start.
pub struct QueueFunctions {
    /// What jobs and subscribers run with.
    pub context: JobContext,
    /// The job kinds the worker runs.
    pub registry: JobRegistry,
    /// Attempts per job and batch concurrency.
    pub work: WorkSettings,
    /// The jobs queue itself: nothing here enqueues jobs, but the worker's
    /// messaging bundle needs one.
    pub jobs: Arc<dyn MessageSink>,
    /// Skiff's notifications and the app's subscribers.
    pub notifier: Notifier,
    /// Seals what the functions send and opens what they are given.
    pub seal: MessageSeal,
}

impl QueueFunctions {
    /// Events and steps go to output bindings of this invocation, sealed.
    fn queues(&self, outputs: &BindingOutputs) -> ChainedQueues {
        let sealed = |inner: Arc<dyn MessageSink>| -> Arc<dyn MessageSink> {
            Arc::new(SealedSink {
                inner,
                seal: self.seal.clone(),
            })
        };
        ChainedQueues {
            jobs: sealed(self.jobs.clone()),
            events: sealed(outputs.binding(EVENTS_BINDING)),
            steps: sealed(outputs.binding(STEPS_BINDING)),
        }
    }
}

/// The queue-triggered functions at `/{FunctionName}`, as the Functions host
/// invokes them (`run_app` merges this with the contract's Router).
pub fn router(functions: QueueFunctions) -> Router {
    Router::new()
        .route(&format!("/{WORKER}"), post(worker))
        .route(&format!("/{NOTIFIER}"), post(notifier))
        .route(&format!("/{WORKFLOW}"), post(workflow))
        .with_state(Arc::new(functions))
}

fn failed(log: String) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(InvocationResponse {
            logs: vec![log],
            ..InvocationResponse::default()
        }),
    )
        .into_response()
}

/// What a request that is not this host's invocation of a sealed message gets:
/// the same answer as any unknown path.
fn not_an_invocation() -> Response {
    Error::NotFound.into_response()
}

/// Opens and decodes the message, runs `handle` in a span naming the message, and
/// answers. A body that is not an invocation, or a message without this handler's
/// seal, is answered 404 and touches nothing. A sealed message that does not
/// decode (a bug, or a message of an older version) is refused with 400: the host
/// retries it and then moves it to the poison queue, where it is kept, as on AWS
/// (dead-letter queue).
async fn invoke<T, F, Fut>(
    function: &'static str,
    seal: &MessageSeal,
    body: Bytes,
    outputs: BindingOutputs,
    handle: F,
) -> Response
where
    T: DeserializeOwned,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let Ok(request) = serde_json::from_slice::<InvocationRequest>(&body) else {
        return not_an_invocation();
    };
    let Some(text) = request
        .trigger_text(TRIGGER_BINDING)
        .and_then(|text| seal.open(&text))
    else {
        tracing::warn!(
            function,
            "a request to a queue function without a sealed message; answered 404"
        );
        return not_an_invocation();
    };
    let message_id = request.metadata_text("Id").unwrap_or_default();
    let (correlation, message) = correlation::split::<T>(&text);
    let span = tracing::info_span!(
        "invocation",
        function_name = function,
        message_id = %message_id,
        dequeue_count = request.dequeue_count().unwrap_or_default(),
        correlation_id = tracing::field::Empty,
        traceparent = tracing::field::Empty,
    );
    if let Some(correlation) = &correlation {
        correlation.record_on(&span);
    }
    let message = match message {
        Ok(message) => message,
        Err(e) => {
            span.in_scope(
                || tracing::error!(error = %e, "a sealed {function} message does not decode"),
            );
            return Error::invalid(format!("malformed {function} message")).into_response();
        }
    };
    match correlation::scope_if(correlation, handle(message))
        .instrument(span.clone())
        .await
    {
        Ok(()) => (
            StatusCode::OK,
            Json(InvocationResponse {
                outputs: outputs.into_outputs(),
                ..InvocationResponse::default()
            }),
        )
            .into_response(),
        Err(e) => {
            span.in_scope(|| tracing::warn!(error = %e, "invocation failed; the host retries it"));
            failed(e)
        }
    }
}

async fn worker(State(app): State<Arc<QueueFunctions>>, body: Bytes) -> Response {
    let outputs = BindingOutputs::default();
    let worker = job_worker(
        app.context.clone(),
        Arc::new(app.queues(&outputs)),
        app.registry.clone(),
        &app.work,
    );
    invoke(
        WORKER,
        &app.seal,
        body,
        outputs,
        |m: JobMessage| async move { worker.handle(m).await.map_err(|e| e.to_string()) },
    )
    .await
}

async fn notifier(State(app): State<Arc<QueueFunctions>>, body: Bytes) -> Response {
    let seal = app.seal.clone();
    invoke(
        NOTIFIER,
        &seal,
        body,
        BindingOutputs::default(),
        |e: Event| async move { app.notifier.handle(e).await.map_err(|e| e.to_string()) },
    )
    .await
}

async fn workflow(State(app): State<Arc<QueueFunctions>>, body: Bytes) -> Response {
    let outputs = BindingOutputs::default();
    let queues = app.queues(&outputs);
    let steps = deletion_steps(&app.context.stores, Arc::new(queues.clone()));
    invoke(
        WORKFLOW,
        &app.seal,
        body,
        outputs,
        |m: StepMessage| async move { run_step(&steps, &queues, m).await },
    )
    .await
}
