//! What a running function tells its operator: structured JSON logs on stderr
//! (request spans carry the request id, so every line of one request can be found
//! together) and metrics through the `metrics` facade, to the sink its host
//! installs: [`emf`] on Lambda, [`prometheus`] on the local server.

pub mod emf;
pub mod metric;
#[cfg(feature = "sqlite")]
pub mod prometheus;
mod settings;

pub use settings::{MetricNamespace, MetricsSettings};

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{ConfigError, Env};

/// Installs the global subscriber. `SKIFF_LOG` (or `RUST_LOG`) sets the filter as a
/// `target=level` list (`info`, `warn`, `skiff=debug,tower_http=info`); default `info`.
/// `Targets` rather than `EnvFilter`: it needs no regex engine, which keeps ~270 KiB
/// out of every Lambda binary. Safe to call more than once; later calls do nothing.
///
/// A filter that does not parse is an error, the same on every host: logs are
/// still installed (at `info`) so the caller can log why it stops, and it should
/// stop, since a typo would otherwise silently change what a production function
/// logs.
pub fn init() -> Result<(), ConfigError> {
    let (filter, result) = match log_filter(&Env::process()) {
        Ok(filter) => (filter, Ok(())),
        Err(e) => (default_filter(), Err(e)),
    };
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
    result
}

fn default_filter() -> Targets {
    Targets::new().with_default(tracing::Level::INFO)
}

/// `SKIFF_LOG`, else `RUST_LOG`, else `info`.
pub fn log_filter<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Targets, ConfigError> {
    let (name, text) = match (env.raw("SKIFF_LOG"), env.raw("RUST_LOG")) {
        (Some(text), _) => ("SKIFF_LOG", text),
        (None, Some(text)) => ("RUST_LOG", text),
        (None, None) => return Ok(default_filter()),
    };
    text.parse::<Targets>().map_err(|e| ConfigError {
        name,
        value: text.clone(),
        reason: format!("is not a filter such as info or warn,skiff=debug: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::Targets;

    #[test]
    fn a_bad_filter_is_an_error_naming_the_variable() {
        let env = crate::config::Env::from_lookup(|name: &str| {
            (name == "SKIFF_LOG").then(|| "skiff=loud".to_owned())
        });
        assert_eq!(super::log_filter(&env).unwrap_err().name, "SKIFF_LOG");
        let unset = crate::config::Env::from_lookup(|_: &str| None);
        assert!(super::log_filter(&unset).is_ok());
    }

    #[test]
    fn filter_syntax_is_target_level_lists() {
        let targets: Targets = "warn,skiff=debug".parse().unwrap();
        assert!(targets.would_enable("skiff::auth", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("tower_http::trace", &tracing::Level::INFO));
        assert!(targets.would_enable("tower_http::trace", &tracing::Level::WARN));
    }
}
