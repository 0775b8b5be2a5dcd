//! Moves sessions and login throttles out of a host's main store when
//! `SKIFF_SESSION_STORE` says so. Every host calls this once, at start.

use crate::config::SessionStoreSetting;
use crate::domain::SessionPolicy;
use crate::ports::{StoreError, Stores};

/// `stores`, with sessions and throttles where `setting` puts them. Users,
/// refresh tokens and everything else stay in the main store: a session store
/// holds state that may be lost only at the price of a new login, never an account.
/// `password` (a secret fetched by the host, such as an AUTH token from Secrets
/// Manager) replaces the URL's password.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
pub fn with_session_store(
    stores: Stores,
    setting: &SessionStoreSetting,
    policy: SessionPolicy,
    password: Option<&str>,
) -> Result<Stores, StoreError> {
    match setting {
        SessionStoreSetting::Main => Ok(stores),
        #[cfg(feature = "redis")]
        SessionStoreSetting::Redis {
            connection,
            topology,
            key_prefix,
        } => {
            use std::sync::Arc;

            use crate::adapters::redis::{RedisSessions, RedisStore};

            let mut connection = (**connection).clone();
            if let Some(password) = password {
                let settings = connection.redis_settings().clone().set_password(password);
                connection = connection.set_redis_settings(settings);
            }
            let redis = RedisStore::connect(connection, *topology, key_prefix)?;
            tracing::info!(topology = ?topology, "sessions and login throttles on redis");
            Ok(Stores {
                sessions: Arc::new(RedisSessions::new(
                    redis.clone(),
                    stores.users.clone(),
                    policy,
                )),
                throttles: Arc::new(redis),
                ..stores
            })
        }
    }
}
