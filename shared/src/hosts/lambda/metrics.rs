//! EMF on Lambda: the recorder installed at init, and each invocation measured
//! into a document of its own.

use crate::telemetry::MetricsSettings;
use crate::telemetry::emf::{EmfRecorder, Properties};

/// Installs the EMF recorder as the process's `metrics` sink, unless metrics are
/// off (`SKIFF_METRICS=off`: every metric call is then a no-op). Only the first
/// recorder of a process is installed; a second call returns `None`.
pub(super) fn install(settings: &MetricsSettings, function_name: &str) -> Option<EmfRecorder> {
    if !settings.enabled {
        return None;
    }
    let recorder = EmfRecorder::new(settings.clone(), function_name);
    metrics::set_global_recorder(recorder.clone()).ok()?;
    crate::telemetry::metric::describe();
    Some(recorder)
}

/// The document's searchable fields from Lambda's context.
pub(super) fn properties(context: &lambda_runtime::Context) -> Properties {
    Properties {
        request_id: Some(context.request_id.clone()),
        xray_trace_id: context.xray_trace_id.clone(),
    }
}

/// `invocation` measured by `recorder`, or as it is when metrics are off.
pub(super) async fn measured<F: Future>(
    recorder: Option<EmfRecorder>,
    properties: Properties,
    invocation: F,
) -> F::Output {
    match recorder {
        Some(recorder) => recorder.measure(properties, invocation).await,
        None => invocation.await,
    }
}
