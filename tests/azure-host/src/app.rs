//! The function app as the host reads it: `host.json` and one `function.json`
//! per function folder, with `%SETTING%` binding expressions resolved from the
//! environment (the app settings).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub batch_size: usize,
    pub max_dequeue_count: u32,
    /// How long a failed message stays hidden before its retry.
    pub visibility_timeout: Duration,
    pub max_polling_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct OutputQueue {
    pub binding: String,
    pub queue: String,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    Http {
        route: String,
        /// Lowercase; empty means every method.
        methods: Vec<String>,
    },
    Queue {
        binding: String,
        queue: String,
    },
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub trigger: Trigger,
    pub outputs: Vec<OutputQueue>,
}

#[derive(Debug, Clone)]
pub struct FunctionApp {
    pub dir: PathBuf,
    pub executable: PathBuf,
    pub forwarding: bool,
    pub route_prefix: String,
    pub queues: QueueSettings,
    pub functions: Vec<Function>,
}

fn read_json(path: &Path) -> Result<Value, AppError> {
    let text = std::fs::read_to_string(path).map_err(|source| AppError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| AppError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// `hh:mm:ss` as host.json writes time spans.
pub fn parse_timespan(text: &str) -> Option<Duration> {
    let parts: Vec<u64> = text
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [h, m, s] => Some(Duration::from_secs(h * 3600 + m * 60 + s)),
        _ => None,
    }
}

/// Resolves `%NAME%` from the app settings (the environment).
pub fn resolve(text: &str, settings: &impl Fn(&str) -> Option<String>) -> Result<String, AppError> {
    match text.strip_prefix('%').and_then(|t| t.strip_suffix('%')) {
        Some(name) => settings(name)
            .ok_or_else(|| AppError::Invalid(format!("app setting {name} is not set"))),
        None => Ok(text.to_owned()),
    }
}

#[derive(Deserialize)]
struct Binding {
    #[serde(rename = "type")]
    kind: String,
    direction: String,
    name: String,
    #[serde(rename = "queueName")]
    queue_name: Option<String>,
    route: Option<String>,
    #[serde(default)]
    methods: Vec<String>,
}

#[derive(Deserialize)]
struct FunctionJson {
    bindings: Vec<Binding>,
}

fn function(
    name: String,
    path: &Path,
    settings: &impl Fn(&str) -> Option<String>,
) -> Result<Function, AppError> {
    let json: FunctionJson =
        serde_json::from_value(read_json(path)?).map_err(|source| AppError::Parse {
            path: path.to_owned(),
            source,
        })?;
    let mut trigger = None;
    let mut outputs = Vec::new();
    for binding in json.bindings {
        match (binding.kind.as_str(), binding.direction.as_str()) {
            ("httpTrigger", "in") => {
                trigger = Some(Trigger::Http {
                    route: binding.route.unwrap_or_else(|| name.clone()),
                    methods: binding.methods.iter().map(|m| m.to_lowercase()).collect(),
                });
            }
            ("queueTrigger", "in") => {
                let queue = binding.queue_name.ok_or_else(|| {
                    AppError::Invalid(format!(
                        "{}: queueTrigger without queueName",
                        path.display()
                    ))
                })?;
                trigger = Some(Trigger::Queue {
                    binding: binding.name,
                    queue: resolve(&queue, settings)?,
                });
            }
            ("queue", "out") => {
                let queue = binding.queue_name.ok_or_else(|| {
                    AppError::Invalid(format!(
                        "{}: queue output without queueName",
                        path.display()
                    ))
                })?;
                outputs.push(OutputQueue {
                    binding: binding.name,
                    queue: resolve(&queue, settings)?,
                });
            }
            ("http", "out") => {}
            (kind, direction) => {
                return Err(AppError::Invalid(format!(
                    "{}: the emulator does not support {direction} bindings of type {kind}",
                    path.display()
                )));
            }
        }
    }
    let trigger = trigger
        .ok_or_else(|| AppError::Invalid(format!("{}: no trigger binding", path.display())))?;
    Ok(Function {
        name,
        trigger,
        outputs,
    })
}

impl FunctionApp {
    pub fn load(dir: &Path, settings: &impl Fn(&str) -> Option<String>) -> Result<Self, AppError> {
        let host = read_json(&dir.join("host.json"))?;
        let executable = host["customHandler"]["description"]["defaultExecutablePath"]
            .as_str()
            .ok_or_else(|| {
                AppError::Invalid(
                    "host.json: no customHandler.description.defaultExecutablePath".into(),
                )
            })?;
        let queues = &host["extensions"]["queues"];
        let span = |name: &str, default: Duration| {
            queues[name]
                .as_str()
                .map_or(Some(default), parse_timespan)
                .ok_or_else(|| {
                    AppError::Invalid(format!(
                        "host.json: extensions.queues.{name} is not hh:mm:ss"
                    ))
                })
        };
        let queue_settings = QueueSettings {
            batch_size: queues["batchSize"].as_u64().unwrap_or(16).clamp(1, 32) as usize,
            max_dequeue_count: queues["maxDequeueCount"].as_u64().unwrap_or(5).max(1) as u32,
            visibility_timeout: span("visibilityTimeout", Duration::ZERO)?,
            max_polling_interval: span("maxPollingInterval", Duration::from_secs(60))?,
        };
        let mut functions = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|source| AppError::Read {
                path: dir.to_owned(),
                source,
            })?
            .filter_map(Result::ok)
            .filter(|e| e.path().join("function.json").is_file())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            functions.push(function(
                name,
                &entry.path().join("function.json"),
                settings,
            )?);
        }
        Ok(Self {
            dir: dir.to_owned(),
            executable: dir.join(executable),
            forwarding: host["customHandler"]["enableForwardingHttpRequest"] == Value::Bool(true),
            route_prefix: host["extensions"]["http"]["routePrefix"]
                .as_str()
                .unwrap_or("api")
                .trim_matches('/')
                .to_owned(),
            queues: queue_settings,
            functions,
        })
    }

    /// The HTTP function whose route template matches `path` for `method`.
    pub fn http_function(&self, method: &str, path: &str) -> Option<&Function> {
        let path = path.trim_start_matches('/');
        let path = if self.route_prefix.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(&self.route_prefix)
                .map(|rest| rest.trim_start_matches('/'))
        }?;
        let method = method.to_lowercase();
        self.functions.iter().find(|f| match &f.trigger {
            Trigger::Http { route, methods } => {
                (methods.is_empty() || methods.contains(&method)) && route_matches(route, path)
            }
            Trigger::Queue { .. } => false,
        })
    }
}

/// ASP.NET-style route templates: literal segments (case-insensitive), `{name}`
/// (one segment, constraints ignored) and `{*name}` (the rest, possibly empty).
pub fn route_matches(template: &str, path: &str) -> bool {
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    for part in template.split('/').filter(|s| !s.is_empty()) {
        if part.starts_with("{*") {
            return true;
        }
        let Some(segment) = segments.next() else {
            return false;
        };
        let is_parameter = part.starts_with('{') && part.ends_with('}');
        if !is_parameter && !part.eq_ignore_ascii_case(segment) {
            return false;
        }
    }
    segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates_match_like_the_host() {
        assert!(route_matches("{*path}", ""));
        assert!(route_matches("{*path}", "jobs/1"));
        assert!(route_matches("jobs/{id:guid}", "Jobs/1"));
        assert!(!route_matches("jobs/{id}", "jobs"));
        assert!(!route_matches("jobs", "jobs/1"));
    }

    #[test]
    fn time_spans_and_settings_resolve() {
        assert_eq!(parse_timespan("00:01:30"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timespan("90"), None);
        let settings = |name: &str| (name == "Q").then(|| "jobs".to_owned());
        assert_eq!(resolve("%Q%", &settings).unwrap(), "jobs");
        assert_eq!(resolve("fixed", &settings).unwrap(), "fixed");
        assert!(resolve("%MISSING%", &settings).is_err());
    }

    #[test]
    fn the_repository_app_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/azure");
        let settings = |name: &str| Some(format!("q-{}", name.to_lowercase()));
        let app = FunctionApp::load(&dir, &settings).unwrap();
        assert!(app.forwarding && app.route_prefix.is_empty());
        assert_eq!(app.queues.max_dequeue_count, 5);
        assert_eq!(app.http_function("GET", "/jobs/1").unwrap().name, "api");
        let worker = app.functions.iter().find(|f| f.name == "worker").unwrap();
        assert!(
            matches!(&worker.trigger, Trigger::Queue { queue, .. } if queue == "q-skiff_jobs_queue")
        );
        assert_eq!(worker.outputs[0].binding, "events");
    }
}
