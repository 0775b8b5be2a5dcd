//! `SKIFF_SESSION_STORE`, `SKIFF_SESSION_STORE_CLUSTER` and
//! `SKIFF_SESSION_STORE_KEY_PREFIX`: where sessions and the login throttles'
//! counters live, the same rules on every host.

#[cfg(feature = "redis")]
use crate::adapters::redis::RedisTopology;

use super::{ConfigError, Env};

/// Where sessions and login throttles live.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum SessionStoreSetting {
    /// In the host's main store, with everything else (unset).
    #[default]
    Main,
    /// On Redis or Valkey: `redis://` or `rediss://` (TLS).
    #[cfg(feature = "redis")]
    Redis {
        /// Address, credentials, database. Its `Debug` hides the password.
        connection: Box<redis::ConnectionInfo>,
        /// `SKIFF_SESSION_STORE_CLUSTER`.
        topology: RedisTopology,
        /// `SKIFF_SESSION_STORE_KEY_PREFIX`.
        key_prefix: String,
    },
}

/// The variable naming the store.
pub const SESSION_STORE: &str = "SKIFF_SESSION_STORE";
/// `true` for a Redis Cluster (ElastiCache Serverless is one).
pub const SESSION_STORE_CLUSTER: &str = "SKIFF_SESSION_STORE_CLUSTER";

/// What every key starts with, so that deployments (stages, apps) can share one
/// cache; the default is `skiff`.
pub const SESSION_STORE_KEY_PREFIX: &str = "SKIFF_SESSION_STORE_KEY_PREFIX";

/// 1–64 characters of letters, digits and `-_.:`; never `{` or `}`, which would
/// move a key's hash slot away from the rest of its session's keys.
fn key_prefix<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<String, ConfigError> {
    let prefix = env
        .raw(SESSION_STORE_KEY_PREFIX)
        .map_or_else(|| "skiff".to_owned(), |v| v.trim().to_owned());
    let valid = (1..=64).contains(&prefix.len())
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    if valid {
        Ok(prefix)
    } else {
        Err(ConfigError {
            name: SESSION_STORE_KEY_PREFIX,
            value: prefix,
            reason: "must be 1 to 64 letters, digits or -_.:".into(),
        })
    }
}

/// Parses the setting. Errors never repeat the URL, which may hold a password.
pub fn session_store<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<SessionStoreSetting, ConfigError> {
    let cluster: bool = env.parse_or(SESSION_STORE_CLUSTER, false)?;
    let prefix = key_prefix(env)?;
    let Some(url) = env.raw(SESSION_STORE) else {
        return Ok(SessionStoreSetting::Main);
    };
    let refused = |reason: String| ConfigError::missing(SESSION_STORE, reason);
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("redis" | "rediss")) {
        return Err(refused(
            "must be a redis:// or rediss:// URL (redis://[user:password@]host:port[/db])".into(),
        ));
    }
    redis_setting(url.trim(), cluster, prefix).map_err(refused)
}

#[cfg(feature = "redis")]
fn redis_setting(
    url: &str,
    cluster: bool,
    key_prefix: String,
) -> Result<SessionStoreSetting, String> {
    let connection = redis::IntoConnectionInfo::into_connection_info(url)
        // redis-rs's message names the part that is wrong, not the URL.
        .map_err(|e| format!("is not a usable Redis URL: {}", e))?;
    let topology = if cluster {
        RedisTopology::Cluster
    } else {
        RedisTopology::Single
    };
    if cluster && connection.redis_settings().db() != 0 {
        return Err("a Redis Cluster has only database 0".into());
    }
    Ok(SessionStoreSetting::Redis {
        connection: Box::new(connection),
        topology,
        key_prefix,
    })
}

#[cfg(not(feature = "redis"))]
fn redis_setting(
    _url: &str,
    _cluster: bool,
    _key_prefix: String,
) -> Result<SessionStoreSetting, String> {
    Err("names Redis, but this build of skiff has no Redis support (cargo feature `redis`)".into())
}

#[cfg(all(test, feature = "redis"))]
mod tests {
    use super::*;
    use crate::config::FixedEnv;

    fn parse(pairs: &[(&str, &str)]) -> Result<SessionStoreSetting, ConfigError> {
        session_store(&FixedEnv::from_pairs(pairs))
    }

    #[test]
    fn unset_keeps_sessions_in_the_main_store() {
        assert!(matches!(parse(&[]).unwrap(), SessionStoreSetting::Main));
    }

    #[test]
    fn redis_urls_with_and_without_tls() {
        let SessionStoreSetting::Redis {
            connection,
            topology,
            key_prefix,
        } = parse(&[(
            SESSION_STORE,
            "rediss://skiff:s3cret@cache.example.com:6379",
        )])
        .unwrap()
        else {
            panic!("not redis");
        };
        assert_eq!(topology, RedisTopology::Single);
        assert_eq!(key_prefix, "skiff");
        assert_eq!(connection.redis_settings().username(), Some("skiff"));
        assert!(matches!(
            connection.addr(),
            redis::ConnectionAddr::TcpTls { host, port: 6379, .. } if host == "cache.example.com"
        ));
        assert!(
            !format!("{connection:?}").contains("s3cret"),
            "the password shows in Debug"
        );
        let cluster = parse(&[
            (SESSION_STORE, "redis://127.0.0.1:7000"),
            (SESSION_STORE_CLUSTER, "true"),
        ])
        .unwrap();
        assert!(matches!(
            cluster,
            SessionStoreSetting::Redis {
                topology: RedisTopology::Cluster,
                ..
            }
        ));
    }

    #[test]
    fn bad_values_name_the_variable_and_never_echo_the_url() {
        for bad in [
            "memcached://host:11211",
            "cache.example.com:6379",
            "redis://:hunter2@",
            "redis://:hunter2@host:notaport",
        ] {
            let error = parse(&[(SESSION_STORE, bad)]).unwrap_err();
            assert_eq!(error.name, SESSION_STORE, "{bad}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
        let error = parse(&[
            (SESSION_STORE, "redis://host:6379/3"),
            (SESSION_STORE_CLUSTER, "true"),
        ])
        .unwrap_err();
        assert!(error.reason.contains("database 0"), "{error}");
        for prefix in ["a{b}", "with space", &"x".repeat(65)] {
            let error = parse(&[
                (SESSION_STORE, "redis://host:6379"),
                (SESSION_STORE_KEY_PREFIX, prefix),
            ])
            .unwrap_err();
            assert_eq!(error.name, SESSION_STORE_KEY_PREFIX, "{prefix}");
        }
        let error = parse(&[(SESSION_STORE_CLUSTER, "sometimes")]).unwrap_err();
        assert_eq!(error.name, SESSION_STORE_CLUSTER);
    }
}
