//! Prometheus text on the local server: `GET /metrics` on an address of its own
//! (`SKIFF_METRICS_LISTEN`), so a scrape never shares the API's port, its auth, or
//! its rate of requests.

use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::MetricsSettings;

/// Installs the Prometheus recorder as the process's `metrics` sink, every metric
/// labelled with `service`. Counters get Prometheus' `_total` suffix.
pub fn install(settings: &MetricsSettings) -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .add_global_label("service", settings.service.clone())
        .install_recorder()
        .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
    super::metric::describe();
    Ok(handle)
}

/// The scrape endpoint. Histogram buckets are folded every few seconds (the
/// recorder leaves that to its owner); the task stops with the runtime.
pub fn router(handle: PrometheusHandle) -> Router {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
                    .into_response()
            }
        }),
    )
}
