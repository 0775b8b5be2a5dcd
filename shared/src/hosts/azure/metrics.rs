//! Metrics on Azure: the Application Insights sink, installed at start when the
//! app has a resource to send to, sending every interval and once more at shutdown.

use crate::telemetry::app_insights::{AppInsightsRecorder, AppInsightsSink};

use super::AzureConfig;

/// The running sink, if one was installed.
pub(super) struct Metrics {
    sink: Option<(AppInsightsSink, tokio::task::JoinHandle<()>)>,
}

/// Installs the sink as the process's `metrics` recorder, unless metrics are off
/// (`SKIFF_METRICS=off`) or no `APPLICATIONINSIGHTS_CONNECTION_STRING` is set;
/// then every metric call is a no-op.
pub(super) fn start(config: &AzureConfig) -> std::io::Result<Metrics> {
    let Some(settings) = config
        .app_insights
        .clone()
        .filter(|_| config.metrics.enabled)
    else {
        return Ok(Metrics { sink: None });
    };
    let recorder = AppInsightsRecorder::default();
    let sink = AppInsightsSink::new(recorder.clone(), &config.metrics, settings)?;
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("a metrics recorder was already installed; Application Insights gets none");
        return Ok(Metrics { sink: None });
    }
    crate::telemetry::metric::describe();
    let task = sink.spawn();
    Ok(Metrics {
        sink: Some((sink, task)),
    })
}

impl Metrics {
    /// Stops the interval sends and sends what is left.
    pub(super) async fn finish(self) {
        let Some((sink, task)) = self.sink else {
            return;
        };
        task.abort();
        if let Err(e) = sink.flush().await {
            tracing::warn!(error = %e, "the last metrics were not sent");
        }
    }
}
