//! Typed configuration from environment variables, parsed once at start-up.
//! A bad value stops the process with a message naming the variable.

mod session_store;

pub use session_store::{
    SESSION_STORE, SESSION_STORE_CLUSTER, SESSION_STORE_KEY_PREFIX, SessionStoreSetting,
    session_store,
};

use std::str::FromStr;
use std::time::Duration;

use crate::api::{CorsOrigins, HttpSettings};
use crate::auth::federation::{FederatedIssuer, parse_issuers};
use crate::auth::{AuthSettings, HashingLimits};
use crate::domain::{LoginThrottlePolicy, SessionPolicy, ThrottleLimit};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {name}={value:?} is invalid: {reason}")]
/// A setting that is missing or bad; the message names it.
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// What it held.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    /// An unset (or empty) variable. It carries no value, so a secret's never
    /// reaches a log line.
    pub fn missing(name: &'static str, reason: impl Into<String>) -> Self {
        Self {
            name,
            value: String::new(),
            reason: reason.into(),
        }
    }
}

/// Reads variables through a lookup function so tests never touch the process
/// environment (mutating it is `unsafe` in edition 2024).
pub struct Env<F>(F);

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

/// A fixed set of variables, for tests of the parsers.
/// The default of [`max_body_bytes`]: 256 KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// `SKIFF_MAX_BODY_BYTES`, the same rule on every host: at least 1 KiB (a smaller
/// limit would refuse the contract's own requests), default 256 KiB.
pub fn max_body_bytes<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<usize, ConfigError> {
    env.at_least("SKIFF_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024)
}

/// `SKIFF_CORS_ORIGINS`: the browser origins allowed to call the API, comma
/// separated, each exactly as a browser sends it; unset means no CORS headers.
pub fn cors_origins<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<CorsOrigins, ConfigError> {
    const NAME: &str = "SKIFF_CORS_ORIGINS";
    match env.raw(NAME) {
        None => Ok(CorsOrigins::default()),
        Some(value) => CorsOrigins::parse(&value).map_err(|e| ConfigError {
            name: NAME,
            reason: e.to_string(),
            value,
        }),
    }
}

/// The settings every host applies around the routes: `SKIFF_MAX_BODY_BYTES` and
/// `SKIFF_CORS_ORIGINS`.
pub fn http_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<HttpSettings, ConfigError> {
    Ok(HttpSettings {
        max_body_bytes: max_body_bytes(env)?,
        cors_origins: cors_origins(env)?,
    })
}

/// `SKIFF_QUEUE_MAX_RECEIVES` (the local queues): deliveries before a message is
/// set aside; at least 1, default 5.
pub fn queue_max_receives<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<u32, ConfigError> {
    env.at_least("SKIFF_QUEUE_MAX_RECEIVES", 5, 1)
}

#[cfg(test)]
pub(crate) type FixedEnv = Env<Box<dyn Fn(&str) -> Option<String>>>;

#[cfg(test)]
impl FixedEnv {
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env(Box::new(move |name| map.get(name).cloned()))
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Variables from `lookup` (tests, or another source).
    pub fn from_lookup(lookup: F) -> Self {
        Env(lookup)
    }

    /// The raw value, with empty treated as unset.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// The raw value of a variable that must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.raw(name)
            .ok_or_else(|| ConfigError::missing(name, "is required"))
    }

    /// Parsed with `FromStr`, `default` when unset.
    pub fn parse_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(name) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|e: T::Err| ConfigError {
                name,
                reason: e.to_string(),
                value,
            }),
        }
    }

    /// A number that must be at least `min`.
    pub fn at_least<T>(&self, name: &'static str, default: T, min: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
        T::Err: std::fmt::Display,
    {
        let value = self.parse_or(name, default)?;
        if value < min {
            return Err(ConfigError {
                name,
                value: value.to_string(),
                reason: format!("must be at least {min}"),
            });
        }
        Ok(value)
    }

    /// A human duration such as `15m`, `24h`, `30days` or `2s`; must be positive.
    pub fn duration_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = self.raw(name) else {
            return Ok(default);
        };
        match humantime::parse_duration(value.trim()) {
            Ok(d) if !d.is_zero() => Ok(d),
            Ok(_) => Err(ConfigError {
                name,
                value,
                reason: "must be greater than zero".into(),
            }),
            Err(e) => Err(ConfigError {
                name,
                value,
                reason: format!("{e} (examples: 30s, 15m, 24h, 30days)"),
            }),
        }
    }

    /// A comma-separated list; empty items are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Auth and session settings shared by every host. `issuer` falls back to the
/// host's own base URL when `SKIFF_ISSUER` is unset.
pub fn auth_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    default_issuer: &str,
) -> Result<AuthSettings, ConfigError> {
    let issuer = env
        .raw("SKIFF_ISSUER")
        .unwrap_or_else(|| default_issuer.to_owned())
        .trim()
        .trim_end_matches('/')
        .to_owned();
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        return Err(ConfigError {
            name: "SKIFF_ISSUER",
            value: issuer,
            reason: "must be an http(s) URL".into(),
        });
    }
    let window = env.duration_or("SKIFF_LOCKOUT_WINDOW", Duration::from_secs(15 * 60))?;
    let lock_for = env.duration_or("SKIFF_LOCKOUT_DURATION", Duration::from_secs(15 * 60))?;
    let limit = |name: &'static str, default: u32| -> Result<ThrottleLimit, ConfigError> {
        Ok(ThrottleLimit {
            max_failures: env.at_least(name, default, 1)?,
            window,
            lock_for,
        })
    };
    let hashing_default = HashingLimits::default_for_this_machine();
    Ok(AuthSettings {
        issuer,
        audience: env
            .raw("SKIFF_AUDIENCE")
            .unwrap_or_else(|| "skiff".to_owned()),
        access_token_ttl: env
            .duration_or("SKIFF_ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?,
        session: SessionPolicy {
            idle_timeout: env
                .duration_or("SKIFF_SESSION_IDLE_TIMEOUT", Duration::from_secs(24 * 3600))?,
            absolute_lifetime: env.duration_or(
                "SKIFF_SESSION_ABSOLUTE_LIFETIME",
                Duration::from_secs(30 * 24 * 3600),
            )?,
        },
        throttles: LoginThrottlePolicy {
            client_account: limit("SKIFF_LOCKOUT_MAX_FAILURES", 5)?,
            client: limit("SKIFF_LOCKOUT_CLIENT_MAX_FAILURES", 100)?,
            account: limit("SKIFF_LOCKOUT_ACCOUNT_MAX_FAILURES", 100)?,
            in_flight_timeout: Duration::from_secs(30),
        },
        hashing: HashingLimits {
            concurrency: env.at_least("SKIFF_HASH_CONCURRENCY", hashing_default.concurrency, 1)?,
            queue_timeout: env
                .duration_or("SKIFF_HASH_QUEUE_TIMEOUT", hashing_default.queue_timeout)?,
        },
        federated_issuers: federated_issuers(env)?,
    })
}

/// `SKIFF_FEDERATED_ISSUERS`: a JSON array of `{"issuer", "audiences": [..],
/// "jwks_uri"?}`; unset turns federated login off.
pub fn federated_issuers<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Vec<FederatedIssuer>, ConfigError> {
    const NAME: &str = "SKIFF_FEDERATED_ISSUERS";
    match env.raw(NAME) {
        None => Ok(Vec::new()),
        Some(value) => parse_issuers(&value).map_err(|reason| ConfigError {
            name: NAME,
            value,
            reason,
        }),
    }
}

/// Jobs and account-deletion settings shared by every host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkSettings {
    /// Attempts per job before it ends `failed` (keep it below the queue's
    /// maximum receives, so a failing job ends `failed` and not in the DLQ).
    pub job_max_attempts: u32,
    /// Jobs of one batch run at most this many at a time.
    pub batch_concurrency: usize,
    /// How long a deletion request waits for its confirmation.
    pub deletion_window: Duration,
}

/// Jobs and deletion settings, the same on every host.
pub fn work_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<WorkSettings, ConfigError> {
    let job_max_attempts: u32 = env.parse_or("SKIFF_JOB_MAX_ATTEMPTS", 3)?;
    let batch_concurrency: usize = env.parse_or("SKIFF_BATCH_CONCURRENCY", 4)?;
    for (name, value) in [
        ("SKIFF_JOB_MAX_ATTEMPTS", job_max_attempts as usize),
        ("SKIFF_BATCH_CONCURRENCY", batch_concurrency),
    ] {
        if value == 0 {
            return Err(ConfigError {
                name,
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
    }
    Ok(WorkSettings {
        job_max_attempts,
        batch_concurrency,
        deletion_window: env
            .duration_or("SKIFF_DELETION_WINDOW", Duration::from_secs(24 * 3600))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> FixedEnv {
        Env::from_pairs(pairs)
    }

    #[test]
    fn defaults_match_the_contract() {
        let settings = auth_settings(&env(&[]), "http://127.0.0.1:8080").unwrap();
        assert_eq!(settings.issuer, "http://127.0.0.1:8080");
        assert_eq!(settings.access_token_ttl, Duration::from_secs(900));
        assert_eq!(settings.session.idle_timeout, Duration::from_secs(86_400));
        assert_eq!(
            settings.session.absolute_lifetime,
            Duration::from_secs(30 * 86_400)
        );
        let throttles = settings.throttles;
        assert_eq!(throttles.client_account.max_failures, 5);
        assert_eq!(throttles.client.max_failures, 100);
        assert_eq!(throttles.account.max_failures, 100);
        assert_eq!(throttles.client_account.window, Duration::from_secs(900));
        assert_eq!(throttles.account.lock_for, Duration::from_secs(900));
        assert_eq!(settings.hashing.queue_timeout, Duration::from_secs(2));
        assert!(settings.hashing.concurrency >= 1);
    }

    #[test]
    fn reads_overrides() {
        let settings = auth_settings(
            &env(&[
                ("SKIFF_ISSUER", "https://auth.example.com/"),
                ("SKIFF_SESSION_IDLE_TIMEOUT", "2s"),
                ("SKIFF_LOCKOUT_MAX_FAILURES", "3"),
            ]),
            "http://unused",
        )
        .unwrap();
        assert_eq!(settings.issuer, "https://auth.example.com");
        assert_eq!(settings.session.idle_timeout, Duration::from_secs(2));
        assert_eq!(settings.throttles.client_account.max_failures, 3);
    }

    /// Unset is off; a bad list stops the start with a message naming the variable.
    #[test]
    fn federated_issuers_are_off_by_default_and_refused_when_malformed() {
        let settings = auth_settings(&env(&[]), "http://127.0.0.1:8080").unwrap();
        assert!(settings.federated_issuers.is_empty());
        let issuers = r#"[{"issuer":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A","audiences":["c"]}]"#;
        let settings = auth_settings(
            &env(&[("SKIFF_FEDERATED_ISSUERS", issuers)]),
            "http://unused",
        )
        .unwrap();
        assert_eq!(settings.federated_issuers.len(), 1);
        let error = auth_settings(
            &env(&[(
                "SKIFF_FEDERATED_ISSUERS",
                r#"[{"issuer":"https://x.example"}]"#,
            )]),
            "http://unused",
        )
        .unwrap_err();
        assert_eq!(error.name, "SKIFF_FEDERATED_ISSUERS");
        assert!(error.to_string().contains("audiences"), "{error}");
    }

    /// Unset is no CORS; a wildcard or a URL that is not an origin stops the start,
    /// naming the variable and what to write instead.
    #[test]
    fn cors_origins_are_off_by_default_and_exact_when_set() {
        assert!(!http_settings(&env(&[])).unwrap().cors_origins.is_enabled());
        let set =
            http_settings(&env(&[("SKIFF_CORS_ORIGINS", "https://shop.example.com")])).unwrap();
        assert_eq!(set.cors_origins.origins(), ["https://shop.example.com"]);
        for (bad, hint) in [
            ("*", "exact origins"),
            (
                "https://shop.example.com/",
                "write it as https://shop.example.com",
            ),
        ] {
            let error = http_settings(&env(&[("SKIFF_CORS_ORIGINS", bad)])).unwrap_err();
            assert_eq!(error.name, "SKIFF_CORS_ORIGINS");
            assert!(error.to_string().contains(hint), "{error}");
        }
    }

    #[test]
    fn work_settings_default_and_refuse_zero() {
        let settings = work_settings(&env(&[])).unwrap();
        assert_eq!(settings.job_max_attempts, 3);
        assert_eq!(settings.deletion_window, Duration::from_secs(86_400));
        let short = work_settings(&env(&[("SKIFF_DELETION_WINDOW", "3s")])).unwrap();
        assert_eq!(short.deletion_window, Duration::from_secs(3));
        let err = work_settings(&env(&[("SKIFF_JOB_MAX_ATTEMPTS", "0")])).unwrap_err();
        assert_eq!(err.name, "SKIFF_JOB_MAX_ATTEMPTS");
        let err = work_settings(&env(&[("SKIFF_BATCH_CONCURRENCY", "x")])).unwrap_err();
        assert_eq!(err.name, "SKIFF_BATCH_CONCURRENCY");
    }

    #[test]
    fn errors_name_the_variable() {
        let err =
            auth_settings(&env(&[("SKIFF_ACCESS_TOKEN_TTL", "soon")]), "http://x").unwrap_err();
        assert_eq!(err.name, "SKIFF_ACCESS_TOKEN_TTL");
        assert!(err.to_string().contains("SKIFF_ACCESS_TOKEN_TTL"));
        let err =
            auth_settings(&env(&[("SKIFF_LOCKOUT_MAX_FAILURES", "-1")]), "http://x").unwrap_err();
        assert_eq!(err.name, "SKIFF_LOCKOUT_MAX_FAILURES");
        let err = auth_settings(&env(&[("SKIFF_HASH_CONCURRENCY", "0")]), "http://x").unwrap_err();
        assert_eq!(err.name, "SKIFF_HASH_CONCURRENCY");
        let err = auth_settings(
            &env(&[("SKIFF_LOCKOUT_CLIENT_MAX_FAILURES", "0")]),
            "http://x",
        )
        .unwrap_err();
        assert_eq!(err.name, "SKIFF_LOCKOUT_CLIENT_MAX_FAILURES");
        let err =
            auth_settings(&env(&[("SKIFF_SESSION_IDLE_TIMEOUT", "0s")]), "http://x").unwrap_err();
        assert_eq!(err.name, "SKIFF_SESSION_IDLE_TIMEOUT");
        let err =
            auth_settings(&env(&[("SKIFF_ISSUER", "auth.example.com")]), "http://x").unwrap_err();
        assert_eq!(err.name, "SKIFF_ISSUER");
    }
}
