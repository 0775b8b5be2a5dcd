//! Structured JSON logs on stderr. Request spans carry the request id, so every
//! line of one request can be found together.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber. `SKIFF_LOG` (or `RUST_LOG`) sets the filter as a
/// `target=level` list (`info`, `warn`, `skiff=debug,tower_http=info`); default `info`.
/// `Targets` rather than `EnvFilter`: it needs no regex engine, which keeps ~270 KiB
/// out of every Lambda binary. Safe to call more than once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("SKIFF_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| f.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(std::io::stderr);
    let _already_installed = tracing_subscriber::registry()
        .with(json)
        .with(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::Targets;

    #[test]
    fn filter_syntax_is_target_level_lists() {
        let targets: Targets = "warn,skiff=debug".parse().unwrap();
        assert!(targets.would_enable("skiff::auth", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("tower_http::trace", &tracing::Level::INFO));
        assert!(targets.would_enable("tower_http::trace", &tracing::Level::WARN));
    }
}
