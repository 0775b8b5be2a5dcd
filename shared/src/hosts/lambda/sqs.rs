//! The queue consumers: SQS event-source mappings with `ReportBatchItemFailures`.
//! Every batch goes through the shared batch processor, so a failed record is
//! reported on its own and the rest of the batch is never redone.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::{Function, LambdaConfig, LambdaError, init, lazy, missing, runtime, stores};
use crate::adapters::aws_messaging::{SfnTasks, SnsEventPublisher};
use crate::app::App;
use crate::batch::{BatchProcessor, Record};
use crate::domain::Event;
use crate::hosts::{deletion_steps, job_context, job_worker, notifier};
use crate::ports::{EventPublisher, JobMessage};
use crate::workflow::{DeletionStep, DeletionSteps, StepMessage};

/// Runs one SQS batch through `handler` and reports the failed message ids.
pub async fn handle_batch<T, E, F, Fut>(
    event: SqsEvent,
    processor: BatchProcessor,
    handler: F,
) -> SqsBatchResponse
where
    T: DeserializeOwned,
    E: std::fmt::Display,
    F: Fn(T) -> Fut + Clone,
    Fut: Future<Output = Result<(), E>>,
{
    let records: Vec<Record<T>> = event
        .records
        .iter()
        .map(|m| {
            Record::json(
                m.message_id.clone().unwrap_or_default(),
                m.body.as_deref().unwrap_or_default(),
            )
            .with_aws_trace_header(m.attributes.get("AWSTraceHeader").cloned())
        })
        .collect();
    let outcome = processor.process(records, handler).await;
    let mut response = SqsBatchResponse::default();
    for id in outcome.failed {
        response.add_failure(id);
    }
    response
}

fn events(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Arc<dyn EventPublisher>, LambdaError> {
    let arn = config
        .events_topic_arn
        .as_deref()
        .ok_or_else(|| missing("SKIFF_EVENTS_TOPIC_ARN"))?;
    Ok(Arc::new(SnsEventPublisher::new(
        lazy(sdk, aws_sdk_sns::Client::new),
        arn,
    )))
}

/// A queue consumer: init, then one batch per invocation.
async fn consume<B, T, E, F, Fut>(function: Function, build: B) -> Result<(), lambda_runtime::Error>
where
    B: AsyncFnOnce(&LambdaConfig, &aws_types::SdkConfig) -> Result<F, LambdaError>,
    T: DeserializeOwned + Send + 'static,
    E: std::fmt::Display,
    F: Fn(T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
{
    let (handler, config) = init(function, build).await?;
    // One processor for the environment: with AWS_LAMBDA_MAX_CONCURRENCY > 1 the
    // batches in flight share its bound on records at once.
    let processor = BatchProcessor::new(config.work.batch_concurrency);
    let metrics = super::metrics::install(&config.metrics, &config.function_name);
    let function_name = config.function_name.clone();
    // The classic loop unless AWS_LAMBDA_MAX_CONCURRENCY > 1 (then batches of
    // several invocations run at once, each in its own span; the runtime's span
    // around it names Lambda's request id).
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (handler, processor) = (handler.clone(), processor.clone());
        let span = super::invocation::span(&function_name);
        let properties = super::metrics::properties(&event.context);
        let batch = async move {
            Ok::<_, lambda_runtime::Error>(handle_batch(event.payload, processor, handler).await)
        };
        // Instrumented, not entered: a guard held across an await would lend this
        // span to whatever else the thread polls meanwhile.
        super::invocation::scoped(metrics.clone(), properties, batch).instrument(span)
    }))
    .await
}

/// The worker binary's entry point: runs Skiff's job kinds from the jobs queue.
pub fn run_worker() -> Result<(), lambda_runtime::Error> {
    run_worker_with(App::new())
}

/// A worker for `app`'s job kinds (and Skiff's), with Skiff's init: the same
/// variables and policy as Skiff's worker function.
pub fn run_worker_with(app: App) -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(consume(Function::Worker, async move |config, sdk| {
        let worker = job_worker(
            job_context(&stores(config, sdk).await?, &config.auth),
            events(config, sdk)?,
            app.registry().clone(),
            &config.work,
        );
        Ok(move |message: JobMessage| {
            let worker = worker.clone();
            async move { worker.handle(message).await }
        })
    }))
}

/// The notifier binary's entry point: events (SNS, raw delivery to SQS) in,
/// notifications out.
pub fn run_notifier() -> Result<(), lambda_runtime::Error> {
    run_notifier_with(App::new())
}

/// The notifier with `app`'s subscribers after Skiff's notifications.
pub fn run_notifier_with(app: App) -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(consume(Function::Notifier, async move |config, sdk| {
        let notifier = notifier(job_context(&stores(config, sdk).await?, &config.auth), &app);
        Ok(move |event: Event| {
            let notifier = notifier.clone();
            async move { notifier.handle(event).await }
        })
    }))
}

/// The workflow binary's entry point: runs the state machine's code steps.
pub fn run_workflow() -> Result<(), lambda_runtime::Error> {
    runtime()?.block_on(consume(Function::Workflow, async |config, sdk| {
        let steps = deletion_steps(&stores(config, sdk).await?, events(config, sdk)?);
        let tasks = SfnTasks::new(lazy(sdk, aws_sdk_sfn::Client::new));
        Ok(move |message: StepMessage| {
            let (steps, tasks) = (steps.clone(), tasks.clone());
            async move { run_step(&steps, &tasks, message).await }
        })
    }))
}

/// Runs a step and reports its outcome to Step Functions, which owns the retries
/// (the state machine's Retry) and the failure path (its Catch). Only when the
/// report itself cannot be sent does the message stay on the queue.
async fn run_step(
    steps: &DeletionSteps,
    tasks: &SfnTasks,
    message: StepMessage,
) -> Result<(), String> {
    let outcome = steps.run(&message).await;
    let Some(token) = message.task_token.as_deref() else {
        return outcome.map_err(|e| e.to_string());
    };
    match outcome {
        // This step's token is the confirmation's: it was stored for the confirm
        // endpoint, which completes it. Completing it here would skip the wait.
        Ok(()) if message.step == DeletionStep::AwaitConfirmation => Ok(()),
        Ok(()) => match tasks.succeed(token).await {
            Ok(()) => Ok(()),
            // The execution moved on (timed out, or this is a redelivery): nothing to report.
            Err(e)
                if e.as_service_error().is_some_and(|se| {
                    se.is_task_timed_out() || se.is_task_does_not_exist() || se.is_invalid_token()
                }) =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "report step success: {}",
                aws_sdk_sfn::error::DisplayErrorContext(e)
            )),
        },
        Err(e) => {
            tracing::warn!(step = message.step.state_name(), error = %e, "deletion step failed");
            tasks
                .fail(token, "the step failed; see the workflow function's logs")
                .await
                .map_err(|e| e.to_string())
        }
    }
}
