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

use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{ConfigError, Env};

/// Installs the global subscriber. `SKIFF_LOG` (or `RUST_LOG`) sets the filter as a
/// `target=level` list (`info`, `warn`, `skiff=debug,tower_http=info`); without
/// either, Lambda's `AWS_LAMBDA_LOG_LEVEL` (the function's logging configuration)
/// sets the level, else `info`. Lines are JSON unless `AWS_LAMBDA_LOG_FORMAT` is
/// `Text`. `Targets` rather than `EnvFilter`: it needs no regex engine, which keeps
/// ~270 KiB out of every Lambda binary. Safe to call more than once; later calls do
/// nothing.
///
/// A setting that does not parse is an error, the same on every host: logs are
/// still installed (at `info`, JSON) so the caller can log why it stops, and it
/// should stop, since a typo would otherwise silently change what a production
/// function logs.
pub fn init() -> Result<(), ConfigError> {
    let env = Env::process();
    let (filter, format, result) = match (log_filter(&env), log_format(&env)) {
        (Ok(filter), Ok(format)) => (filter, format, Ok(())),
        (Err(e), _) | (_, Err(e)) => (default_filter(), LogFormat::Json, Err(e)),
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_target(true)
        .with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        LogFormat::Text => layer.with_ansi(false).boxed(),
    };
    let _already_installed = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
    result
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (the default; what CloudWatch and App Insights parse).
    Json,
    /// Plain text lines (`AWS_LAMBDA_LOG_FORMAT=Text`).
    Text,
}

/// `AWS_LAMBDA_LOG_FORMAT`: `JSON` (or unset) or `Text`, as Lambda sets it from the
/// function's logging configuration.
pub fn log_format<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<LogFormat, ConfigError> {
    match env.raw("AWS_LAMBDA_LOG_FORMAT").as_deref() {
        None => Ok(LogFormat::Json),
        Some(text) if text.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
        Some(text) if text.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
        Some(other) => Err(ConfigError {
            name: "AWS_LAMBDA_LOG_FORMAT",
            value: other.to_owned(),
            reason: "expected JSON or Text".into(),
        }),
    }
}

fn default_filter() -> Targets {
    Targets::new().with_default(tracing::Level::INFO)
}

/// `SKIFF_LOG`, else `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn log_filter<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Targets, ConfigError> {
    let (name, text) = match (env.raw("SKIFF_LOG"), env.raw("RUST_LOG")) {
        (Some(text), _) => ("SKIFF_LOG", text),
        (None, Some(text)) => ("RUST_LOG", text),
        (None, None) => return lambda_log_level(env),
    };
    text.parse::<Targets>().map_err(|e| ConfigError {
        name,
        value: text.clone(),
        reason: format!("is not a filter such as info or warn,skiff=debug: {e}"),
    })
}

/// Lambda's levels (its application log level: TRACE, DEBUG, INFO, WARN, ERROR,
/// FATAL); tracing has no FATAL, so it is ERROR.
fn lambda_log_level<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Targets, ConfigError> {
    let Some(text) = env.raw("AWS_LAMBDA_LOG_LEVEL") else {
        return Ok(default_filter());
    };
    let level = match text.to_ascii_uppercase().as_str() {
        "TRACE" => tracing::Level::TRACE,
        "DEBUG" => tracing::Level::DEBUG,
        "INFO" => tracing::Level::INFO,
        "WARN" => tracing::Level::WARN,
        "ERROR" | "FATAL" => tracing::Level::ERROR,
        _ => {
            return Err(ConfigError {
                name: "AWS_LAMBDA_LOG_LEVEL",
                value: text,
                reason: "expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL".into(),
            });
        }
    };
    Ok(Targets::new().with_default(level))
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
    fn lambdas_log_level_and_format_apply_when_skiff_sets_none() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            crate::config::Env::from_lookup(move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let warn = super::log_filter(&env(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")])).unwrap();
        assert!(!warn.would_enable("skiff::auth", &tracing::Level::INFO));
        assert!(warn.would_enable("skiff::auth", &tracing::Level::WARN));
        let fatal = super::log_filter(&env(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")])).unwrap();
        assert!(!fatal.would_enable("skiff", &tracing::Level::WARN));
        // Skiff's own filter wins over the function's logging configuration.
        let both = env(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("SKIFF_LOG", "debug")]);
        assert!(
            super::log_filter(&both)
                .unwrap()
                .would_enable("skiff", &tracing::Level::DEBUG)
        );
        let bad = super::log_filter(&env(&[("AWS_LAMBDA_LOG_LEVEL", "LOUD")])).unwrap_err();
        assert_eq!(bad.name, "AWS_LAMBDA_LOG_LEVEL");

        assert_eq!(
            super::log_format(&env(&[])).unwrap(),
            super::LogFormat::Json
        );
        let text = env(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]);
        assert_eq!(super::log_format(&text).unwrap(), super::LogFormat::Text);
        let bad = env(&[("AWS_LAMBDA_LOG_FORMAT", "xml")]);
        assert_eq!(
            super::log_format(&bad).unwrap_err().name,
            "AWS_LAMBDA_LOG_FORMAT"
        );
    }

    #[test]
    fn filter_syntax_is_target_level_lists() {
        let targets: Targets = "warn,skiff=debug".parse().unwrap();
        assert!(targets.would_enable("skiff::auth", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("tower_http::trace", &tracing::Level::INFO));
        assert!(targets.would_enable("tower_http::trace", &tracing::Level::WARN));
    }
}
