//! The custom handler's settings: what the Functions host sets
//! (`FUNCTIONS_CUSTOMHANDLER_PORT`, `AzureWebJobsStorage`) plus Skiff's app
//! settings (see the app settings table in docs/azure.md). Parsed once, at start.

use crate::adapters::azure::{MAX_VISIBILITY, StorageAccount};
use crate::auth::AuthSettings;
use crate::config::{
    ConfigError, Env, SessionStoreSetting, WorkSettings, auth_settings, session_store,
    work_settings,
};

/// Storage resource names. Table names are alphanumeric; queue names lowercase
/// letters, digits and hyphens (3–63 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageNames {
    /// The table every store port uses (`SKIFF_TABLE`).
    pub table: String,
    /// The worker's trigger queue (`SKIFF_JOBS_QUEUE`).
    pub jobs_queue: String,
    /// The notifier's trigger queue (`SKIFF_EVENTS_QUEUE`).
    pub events_queue: String,
    /// The deletion workflow's steps (`SKIFF_STEPS_QUEUE`).
    pub steps_queue: String,
}

#[derive(Clone)]
/// The custom handler's settings (see docs/azure.md).
pub struct AzureConfig {
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`, set by the Functions host.
    pub port: u16,
    /// `AzureWebJobsStorage`.
    pub storage: StorageAccount,
    /// Table and queue names.
    pub names: StorageNames,
    /// Create the table and queues at start (development and emulation; in
    /// production they come from infrastructure).
    pub create_storage: bool,
    /// The private signing keys: one PEM or `{"keys": [pem, …]}`.
    pub signing_keys: String,
    /// Token, session and password settings.
    pub auth: AuthSettings,
    /// `SKIFF_MAX_BODY_BYTES` and `SKIFF_CORS_ORIGINS`.
    pub http: crate::api::HttpSettings,
    /// Jobs and deletion settings.
    pub work: WorkSettings,
    /// `SKIFF_SESSION_STORE`: sessions and throttles in the table, or on Redis
    /// (Azure Cache for Redis, Azure Managed Redis).
    pub session_store: SessionStoreSetting,
    /// `SKIFF_METRICS`, `SKIFF_METRICS_NAMESPACE` and `SKIFF_SERVICE_NAME`.
    pub metrics: crate::telemetry::MetricsSettings,
    /// Where metrics go: the Application Insights resource of
    /// `APPLICATIONINSIGHTS_CONNECTION_STRING`, if any.
    pub app_insights: Option<crate::telemetry::app_insights::AppInsightsSettings>,
}

fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn table_name<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<String, ConfigError> {
    let name = env.raw("SKIFF_TABLE").unwrap_or_else(|| "skiff".into());
    let valid = (3..=63).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(name)
    } else {
        Err(invalid(
            "SKIFF_TABLE",
            &name,
            "must be 3-63 letters and digits, starting with a letter",
        ))
    }
}

fn queue_name<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let value = env.raw(name).unwrap_or_else(|| default.into());
    let valid = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if valid {
        Ok(value)
    } else {
        Err(invalid(
            name,
            &value,
            "must be 3-63 lowercase letters, digits and single hyphens",
        ))
    }
}

/// The private keys never reach a log line, whoever prints the config (the
/// storage account's `Debug` already hides its credential).
impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("port", &self.port)
            .field("storage", &self.storage)
            .field("names", &self.names)
            .field("create_storage", &self.create_storage)
            .field("signing_keys", &"<redacted>")
            .field("auth", &self.auth)
            .field("http", &self.http)
            .field("work", &self.work)
            .field("metrics", &self.metrics)
            .field("app_insights", &self.app_insights)
            .finish()
    }
}

impl AzureConfig {
    /// HTTP triggers on Azure accept up to 100 MB; the contract needs far less.
    pub const DEFAULT_MAX_BODY_BYTES: usize = crate::config::DEFAULT_MAX_BODY_BYTES;

    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    /// From `env`.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let port = env.required("FUNCTIONS_CUSTOMHANDLER_PORT")?;
        let port = port
            .trim()
            .parse()
            .map_err(|_| invalid("FUNCTIONS_CUSTOMHANDLER_PORT", &port, "is not a port"))?;
        let storage = StorageAccount::parse(&env.required("AzureWebJobsStorage")?)
            // The value is a secret: the reason says what is wrong, the value stays out.
            .map_err(|e| ConfigError::missing("AzureWebJobsStorage", e.to_string()))?;
        let issuer = env.required("SKIFF_ISSUER")?;
        let work = work_settings(env)?;
        if work.deletion_window > MAX_VISIBILITY {
            return Err(invalid(
                "SKIFF_DELETION_WINDOW",
                &format!("{:?}", work.deletion_window),
                "the expiry timer is a delayed queue message: at most 7 days on Azure",
            ));
        }
        Ok(Self {
            port,
            storage,
            names: StorageNames {
                table: table_name(env)?,
                jobs_queue: queue_name(env, "SKIFF_JOBS_QUEUE", "skiff-jobs")?,
                events_queue: queue_name(env, "SKIFF_EVENTS_QUEUE", "skiff-events")?,
                steps_queue: queue_name(env, "SKIFF_STEPS_QUEUE", "skiff-deletion-steps")?,
            },
            create_storage: env.parse_or("SKIFF_CREATE_STORAGE", false)?,
            signing_keys: env.required("SKIFF_SIGNING_KEYS")?,
            auth: auth_settings(env, &issuer)?,
            http: crate::config::http_settings(env)?,
            work,
            session_store: session_store(env)?,
            metrics: crate::telemetry::MetricsSettings::from(env)?,
            app_insights: crate::telemetry::app_insights::AppInsightsSettings::from(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FixedEnv;

    const STORAGE: &str = "UseDevelopmentStorage=true";

    fn config(extra: &[(&str, &str)]) -> Result<AzureConfig, ConfigError> {
        let mut pairs = vec![
            ("FUNCTIONS_CUSTOMHANDLER_PORT", "7000"),
            ("AzureWebJobsStorage", STORAGE),
            ("SKIFF_ISSUER", "https://api.example.com"),
            ("SKIFF_SIGNING_KEYS", "pem"),
        ];
        pairs.extend_from_slice(extra);
        AzureConfig::from(&FixedEnv::from_pairs(&pairs))
    }

    #[test]
    fn a_body_limit_below_one_kib_is_refused() {
        let e = config(&[("SKIFF_MAX_BODY_BYTES", "0")]).unwrap_err();
        assert_eq!(e.name, "SKIFF_MAX_BODY_BYTES");
    }

    #[test]
    fn defaults_name_the_table_and_queues() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.names.table, "skiff");
        assert_eq!(c.names.steps_queue, "skiff-deletion-steps");
        assert!(!c.create_storage);
    }

    #[test]
    fn debug_output_hides_the_keys_and_the_account_key() {
        let c = config(&[
            ("SKIFF_SIGNING_KEYS", "-----BEGIN PRIVATE KEY-----secret"),
            (
                "AzureWebJobsStorage",
                "AccountName=acme;AccountKey=c2VjcmV0LWFjY291bnQta2V5",
            ),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("BEGIN PRIVATE KEY"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(!shown.contains("115, 101, 99"), "{shown}");
    }

    #[test]
    fn each_required_setting_is_named_when_missing() {
        for name in [
            "FUNCTIONS_CUSTOMHANDLER_PORT",
            "AzureWebJobsStorage",
            "SKIFF_ISSUER",
            "SKIFF_SIGNING_KEYS",
        ] {
            let err = config(&[(name, "")]).unwrap_err();
            assert_eq!(err.name, name);
        }
    }

    #[test]
    fn bad_names_and_windows_are_refused_at_start() {
        assert_eq!(
            config(&[("SKIFF_TABLE", "my-table")]).unwrap_err().name,
            "SKIFF_TABLE"
        );
        assert_eq!(
            config(&[("SKIFF_JOBS_QUEUE", "Jobs")]).unwrap_err().name,
            "SKIFF_JOBS_QUEUE"
        );
        assert_eq!(
            config(&[("SKIFF_DELETION_WINDOW", "8days")])
                .unwrap_err()
                .name,
            "SKIFF_DELETION_WINDOW"
        );
        let err =
            config(&[("AzureWebJobsStorage", "AccountName=a;AccountKey=secret!")]).unwrap_err();
        assert_eq!((err.name, err.value.as_str()), ("AzureWebJobsStorage", ""));
    }
}
