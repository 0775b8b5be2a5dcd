//! What every invocation runs in: a span beside the runtime's own (which carries
//! Lambda's `requestId` and `xrayTraceId`) with the function's name and, as
//! Powertools logs it, whether this invocation is the environment's first; and
//! its task-local context, the same for HTTP and queue functions.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::telemetry::emf::{EmfRecorder, Properties};
use crate::telemetry::xray;

/// Until the first invocation takes it.
static COLD: AtomicBool = AtomicBool::new(true);

/// The span of one invocation of `function_name`; `cold_start` is true for the
/// environment's first invocation only (with `AWS_LAMBDA_MAX_CONCURRENCY` > 1,
/// only one of the first invocations in flight).
pub(super) fn span(function_name: &str) -> tracing::Span {
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    tracing::info_span!("invocation", function_name = %function_name, cold_start)
}

/// `work`, one invocation, with what is its own even among invocations in flight
/// together: its metric document (when metrics are on) and its X-Ray trace id on
/// the AWS calls it makes.
pub(super) async fn scoped<F: Future>(
    recorder: Option<EmfRecorder>,
    properties: Properties,
    work: F,
) -> F::Output {
    let trace_id = properties.xray_trace_id.clone();
    let measured = super::metrics::measured(recorder, properties, work);
    xray::scope(trace_id.as_deref(), measured).await
}
