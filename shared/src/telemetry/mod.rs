//! What a running function tells its operator: structured JSON logs on stderr
//! and metrics through the `metrics` facade, to the sink its host installs:
//! [`emf`] on Lambda, [`prometheus`] on the local server.
//!
//! A log line is one flat JSON object: `timestamp`, `level`, `target`,
//! `message`, `service`, the event's fields, and the fields of every span it is
//! in, outermost first and the innermost winning a clash. So a line written deep
//! in a job carries Lambda's `requestId` and `xrayTraceId` (the runtime's span),
//! `function_name` and `cold_start` (the invocation's), and `message_id` and
//! `correlation_id` (the record's); a request's lines carry its `correlation_id`,
//! `method` and `route`. These are the keys CloudWatch Logs Insights, Powertools
//! users and Application Insights queries expect at the top level.

#[cfg(feature = "azure")]
pub mod app_insights;
mod bag;
pub mod correlation;
pub mod emf;
pub mod metric;
#[cfg(feature = "sqlite")]
pub mod prometheus;
mod settings;
pub mod xray;

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
    let settings = (
        log_filter(&env),
        log_format(&env),
        settings::service_name(&env),
    );
    let (filter, format, service, result) = match settings {
        (Ok(filter), Ok(format), Ok(service)) => (filter, format, service, Ok(())),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => (
            default_filter(),
            LogFormat::Json,
            MetricsSettings::DEFAULT_SERVICE.to_owned(),
            Err(e),
        ),
    };
    let layer = match format {
        LogFormat::Json => json_lines(service, std::io::stderr).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .boxed(),
    };
    let _already_installed = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
    result
}

/// The JSON line layer, writing to `writer` (see the module's description).
/// `json-subscriber` rather than tracing-subscriber's own JSON format: that one
/// keeps only the innermost span's fields, nested under `span`, so a job's lines
/// would lose the invocation's request id.
fn json_lines<S, W>(service: String, writer: W) -> json_subscriber::JsonLayer<S, W>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + 'static,
{
    let mut layer = json_subscriber::JsonLayer::new(writer);
    layer
        .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
        .with_level("level")
        .with_target("target")
        .with_flattened_event()
        .with_top_level_flattened_span_list();
    layer.add_static_field("service", serde_json::Value::String(service));
    layer
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

    /// Lines written by `json_lines` while `f` runs, parsed.
    fn json_lines_of(f: impl FnOnce()) -> Vec<serde_json::Value> {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::layer::SubscriberExt;
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(super::json_lines("shop".into(), move || writer.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn a_line_carries_every_enclosing_spans_fields_at_the_top_level() {
        let lines = json_lines_of(|| {
            let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "lambda-1");
            let invocation = tracing::info_span!(
                parent: &runtime, "invocation", function_name = "worker", cold_start = true
            );
            let record = tracing::info_span!(
                parent: &invocation,
                "record",
                message_id = "m-1",
                correlation_id = tracing::field::Empty,
                traceparent = tracing::field::Empty,
            );
            record.record("correlation_id", "req-9");
            record.in_scope(|| tracing::info!(job_id = "j-1", "job finished"));
            tracing::warn!("outside");
        });
        let line = &lines[0];
        assert_eq!(line["message"], "job finished");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["service"], "shop");
        assert_eq!(line["requestId"], "lambda-1");
        assert_eq!(line["function_name"], "worker");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["message_id"], "m-1");
        assert_eq!(line["correlation_id"], "req-9");
        assert_eq!(line["job_id"], "j-1");
        assert!(line["timestamp"].is_string() && line["target"].is_string());
        // A field never recorded is left out, not written empty.
        assert!(line.get("traceparent").is_none());
        assert!(lines[1].get("correlation_id").is_none());
        assert_eq!(lines[1]["service"], "shop");
    }

    #[test]
    fn filter_syntax_is_target_level_lists() {
        let targets: Targets = "warn,skiff=debug".parse().unwrap();
        assert!(targets.would_enable("skiff::auth", &tracing::Level::DEBUG));
        assert!(!targets.would_enable("tower_http::trace", &tracing::Level::INFO));
        assert!(targets.would_enable("tower_http::trace", &tracing::Level::WARN));
    }
}
