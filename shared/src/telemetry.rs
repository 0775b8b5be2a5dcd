//! Structured JSON logs on stderr. Request spans carry the request id, so every
//! line of one request can be found together.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `SKIFF_LOG` (or `RUST_LOG`) sets the filter,
/// default `info`. Safe to call more than once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("SKIFF_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _already_installed = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
