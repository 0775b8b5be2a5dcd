//! The local server's queue consumers: what Lambda's SQS event-source mappings
//! do on AWS. Each polls its queue, hands the batch to the shared batch
//! processor, deletes what succeeded and leaves failures for redelivery (and,
//! past the maximum receives, the dead letters).

use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::messaging::LocalQueues;
use crate::adapters::sqlite::SqliteQueue;
use crate::batch::{BatchProcessor, Record};
use crate::domain::Event;
use crate::hosts::chained::run_step;
use crate::jobs::JobWorker;
use crate::notifications::Notifier;
use crate::ports::JobMessage;
use crate::workflow::{DeletionSteps, StepMessage};

/// The SQS maximum, and what the template's event-source mappings use.
const BATCH_SIZE: usize = 10;
const IDLE_POLL: Duration = Duration::from_millis(100);

/// Starts the worker, the notifier and the workflow engine; they stop when the
/// returned set is dropped.
pub fn spawn(
    queues: LocalQueues,
    worker: JobWorker,
    notifier: Notifier,
    steps: DeletionSteps,
    concurrency: usize,
) -> JoinSet<()> {
    // A bound per queue, as each queue has a Lambda function of its own.
    let processor = || BatchProcessor::new(concurrency);
    let mut tasks = JoinSet::new();
    tasks.spawn(
        consume(queues.jobs.clone(), processor(), move |m: JobMessage| {
            let worker = worker.clone();
            async move { worker.handle(m).await }
        })
        .instrument(consumer_span("worker")),
    );
    tasks.spawn(
        consume(queues.events.clone(), processor(), move |e: Event| {
            let notifier = notifier.clone();
            async move { notifier.handle(e).await }
        })
        .instrument(consumer_span("notifier")),
    );
    let engine = queues.chained();
    tasks.spawn(
        consume(queues.steps, processor(), move |m: StepMessage| {
            let (steps, engine) = (steps.clone(), engine.clone());
            async move { run_step(&steps, &engine, m).await }
        })
        .instrument(consumer_span("workflow")),
    );
    tasks
}

/// The span a consumer's lines are written in: `function_name` is what Lambda's
/// invocation span and Azure's invocation span call the same consumer.
fn consumer_span(function_name: &'static str) -> tracing::Span {
    tracing::info_span!("consumer", function_name)
}

async fn consume<T, E, F, Fut>(queue: SqliteQueue, processor: BatchProcessor, handler: F)
where
    T: DeserializeOwned,
    E: std::fmt::Display,
    F: Fn(T) -> Fut + Clone,
    Fut: Future<Output = Result<(), E>>,
{
    loop {
        let messages = match queue.receive(BATCH_SIZE).await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::error!(queue = queue.name(), error = %e, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(IDLE_POLL).await;
            continue;
        }
        let records: Vec<Record<T>> = messages
            .iter()
            .map(|m| Record::json(m.id.to_string(), &m.body))
            .collect();
        let outcome = processor.process(records, handler.clone()).await;
        for message in &messages {
            if outcome.failed.contains(&message.id.to_string()) {
                continue;
            }
            if let Err(e) = queue.delete(message.id).await {
                // It comes back after its visibility timeout; handlers are idempotent.
                tracing::warn!(queue = queue.name(), error = %e, "delete failed");
            }
        }
    }
}
