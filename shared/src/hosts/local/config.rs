use std::net::SocketAddr;
use std::path::PathBuf;

use std::time::Duration;

use crate::adapters::sqlite::QueueSettings;
use crate::auth::AuthSettings;
use crate::config::{
    ConfigError, Env, SessionStoreSetting, WorkSettings, auth_settings, session_store,
    work_settings,
};
use crate::hosts::client_address::TrustedProxies;

/// The local server's settings (see the README's configuration table).
#[derive(Clone, Debug)]
pub struct LocalConfig {
    /// `SKIFF_LISTEN`.
    pub listen: SocketAddr,
    /// `SKIFF_DATA_DIR`.
    pub data_dir: PathBuf,
    /// PEM files, oldest first; the last one signs. Empty: a persisted dev key.
    pub signing_key_files: Vec<PathBuf>,
    /// `SKIFF_MAX_BODY_BYTES` and `SKIFF_CORS_ORIGINS`.
    pub http: crate::api::HttpSettings,
    /// Token, session and password settings.
    pub auth: AuthSettings,
    /// True when `SKIFF_ISSUER` is unset: the issuer becomes the bound URL.
    pub issuer_is_default: bool,
    /// Jobs and deletion settings.
    pub work: WorkSettings,
    /// Redelivery of the local queues (jobs, events, deletion steps).
    pub queue: QueueSettings,
    /// Load balancers whose `X-Forwarded-For` names the client (none by default:
    /// the TCP peer is the client).
    pub trusted_proxies: TrustedProxies,
    /// `SKIFF_SESSION_STORE`: sessions and throttles in SQLite, or on Redis.
    pub session_store: SessionStoreSetting,
    /// `SKIFF_METRICS_LISTEN`: where `GET /metrics` answers in Prometheus text;
    /// `None` (unset) records no metrics.
    pub metrics_listen: Option<SocketAddr>,
    /// `SKIFF_METRICS`, `SKIFF_METRICS_NAMESPACE`, `SKIFF_SERVICE_NAME`.
    pub metrics: crate::telemetry::MetricsSettings,
}

impl LocalConfig {
    /// Where the server listens by default.
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8080";
    /// Where its data goes by default.
    pub const DEFAULT_DATA_DIR: &'static str = ".skiff-data";
    /// The request-body limit by default.
    pub const DEFAULT_MAX_BODY_BYTES: usize = crate::config::DEFAULT_MAX_BODY_BYTES;

    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&Env::process())
    }

    /// From `env`.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let listen: SocketAddr = env.parse_or(
            "SKIFF_LISTEN",
            // A literal that always parses.
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let http = crate::config::http_settings(env)?;
        let metrics = crate::telemetry::MetricsSettings::from(env)?;
        let metrics_listen = match env.raw("SKIFF_METRICS_LISTEN") {
            None => None,
            Some(_) if !metrics.enabled => {
                return Err(ConfigError::missing(
                    "SKIFF_METRICS_LISTEN",
                    "is set while SKIFF_METRICS=off; unset one of them",
                ));
            }
            Some(text) => Some(text.parse().map_err(|_| ConfigError {
                name: "SKIFF_METRICS_LISTEN",
                value: text.clone(),
                reason: "is not an address such as 127.0.0.1:9464".into(),
            })?),
        };
        Ok(Self {
            listen,
            data_dir: env
                .raw("SKIFF_DATA_DIR")
                .map_or_else(|| PathBuf::from(Self::DEFAULT_DATA_DIR), PathBuf::from),
            signing_key_files: env
                .list("SKIFF_SIGNING_KEY_FILES")
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            http,
            auth: auth_settings(env, &format!("http://{listen}"))?,
            issuer_is_default: env.raw("SKIFF_ISSUER").is_none(),
            work: work_settings(env)?,
            queue: QueueSettings {
                visibility: env.duration_or("SKIFF_QUEUE_VISIBILITY", Duration::from_secs(30))?,
                max_receives: crate::config::queue_max_receives(env)?,
            },
            trusted_proxies: TrustedProxies::parse(
                "SKIFF_TRUSTED_PROXIES",
                &env.list("SKIFF_TRUSTED_PROXIES"),
            )?,
            session_store: session_store(env)?,
            metrics_listen,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<LocalConfig, ConfigError> {
        LocalConfig::from(&Env::from_pairs(pairs))
    }

    #[test]
    fn a_queue_that_never_delivers_is_refused() {
        let e = config(&[("SKIFF_QUEUE_MAX_RECEIVES", "0")]).unwrap_err();
        assert_eq!(e.name, "SKIFF_QUEUE_MAX_RECEIVES");
    }

    #[test]
    fn metrics_listen_is_an_address_and_needs_metrics_on() {
        assert_eq!(config(&[]).unwrap().metrics_listen, None);
        let on = config(&[("SKIFF_METRICS_LISTEN", "127.0.0.1:9464")]).unwrap();
        assert_eq!(on.metrics_listen.unwrap().port(), 9464);
        for pairs in [
            &[("SKIFF_METRICS_LISTEN", "9464")][..],
            &[
                ("SKIFF_METRICS_LISTEN", "127.0.0.1:9464"),
                ("SKIFF_METRICS", "off"),
            ][..],
        ] {
            assert_eq!(config(pairs).unwrap_err().name, "SKIFF_METRICS_LISTEN");
        }
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), LocalConfig::DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(".skiff-data"));
        assert!(c.signing_key_files.is_empty());
        assert!(c.issuer_is_default);
    }

    #[test]
    fn parses_key_list_and_rejects_bad_listen() {
        let c = config(&[
            ("SKIFF_SIGNING_KEY_FILES", "old.pem, new.pem"),
            ("SKIFF_ISSUER", "https://x.example"),
        ])
        .unwrap();
        assert_eq!(
            c.signing_key_files,
            vec![PathBuf::from("old.pem"), PathBuf::from("new.pem")]
        );
        assert!(!c.issuer_is_default);
        assert_eq!(
            config(&[("SKIFF_LISTEN", "localhost")]).unwrap_err().name,
            "SKIFF_LISTEN"
        );
        assert_eq!(
            config(&[("SKIFF_MAX_BODY_BYTES", "10")]).unwrap_err().name,
            "SKIFF_MAX_BODY_BYTES"
        );
        assert_eq!(
            config(&[("SKIFF_TRUSTED_PROXIES", "10.0.0.0/8, nope")])
                .unwrap_err()
                .name,
            "SKIFF_TRUSTED_PROXIES"
        );
    }
}
