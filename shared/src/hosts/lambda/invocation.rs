//! The span every invocation runs in, beside the runtime's own (which carries
//! Lambda's `requestId` and `xrayTraceId`): the function's name and, as
//! Powertools logs it, whether this invocation is the environment's first.

use std::sync::atomic::{AtomicBool, Ordering};

/// Until the first invocation takes it.
static COLD: AtomicBool = AtomicBool::new(true);

/// The span of one invocation of `function_name`; `cold_start` is true for the
/// environment's first invocation only (with `AWS_LAMBDA_MAX_CONCURRENCY` > 1,
/// only one of the first invocations in flight).
pub(super) fn span(function_name: &str) -> tracing::Span {
    let cold_start = COLD.swap(false, Ordering::Relaxed);
    tracing::info_span!("invocation", function_name = %function_name, cold_start)
}
