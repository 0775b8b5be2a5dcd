//! Sessions and login throttles on Redis or Valkey (Amazon ElastiCache, Azure Cache
//! for Redis, a local `redis-server`), next to a main store that keeps everything
//! else (users, refresh tokens, jobs, records).
//!
//! Every conditional write is one Lua script on one key, so the check and the write
//! happen inside Redis, atomically, and every key of a script lives in one hash slot
//! (the `{…}` tag): the scripts run unchanged on a cluster. Sessions expire natively
//! at their `expires_at`; a per-user set of session ids serves "every session of
//! this user" for logout-everywhere and account deletion.

mod connection;
mod sessions;
mod throttles;

// The suite keeps users in SQLite, the main store the local server pairs with Redis.
#[cfg(all(test, feature = "sqlite"))]
mod test_support;

pub use connection::{RedisStore, RedisTopology};
pub use sessions::RedisSessions;

fn failed(context: &'static str) -> impl FnOnce(redis::RedisError) -> crate::ports::StoreError {
    move |e| {
        crate::telemetry::metric::backend_error("redis");
        crate::ports::StoreError::new(context, e)
    }
}
