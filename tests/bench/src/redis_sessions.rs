//! Sessions on Redis: the session function with `SKIFF_SESSION_STORE` on a local
//! `redis-server` next to the same function on DynamoDB (moto), and the Redis
//! store's own cost in process next to the bare round trip it is built on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{AsyncCommands, IntoConnectionInfo, Script};
use skiff::adapters::redis::{RedisSessions, RedisStore, RedisTopology};
use skiff::adapters::sqlite::SqliteStore;
use skiff::domain::{
    Email, Session, SessionData, SessionId, SessionPolicy, Timestamp, UserId, Version,
};
use skiff::ports::{Login, SessionStore, SessionWrite, User, UserStore};

use crate::config::BenchConfig;
use crate::events::Fixtures;
use crate::measure::{self, BenchError, Warm};
use crate::scenarios::{binary, fixture, new_user};

pub const GET_SESSION: &str = "GET /session";
pub const PATCH_DATA: &str = "PATCH /session/data";

/// Session data of the size a cart or a wizard keeps: about 300 bytes.
fn cart(i: usize) -> serde_json::Value {
    serde_json::json!({
        "cart": [{"sku": "A-1", "qty": i % 7}, {"sku": "B-22", "qty": 1}, {"sku": "C-333", "qty": 2}],
        "step": "shipping",
        "address": {"line1": "1 Example Street", "city": "Springfield", "postcode": "12345"},
        "note": "leave at the door",
    })
}

pub struct RedisFigures {
    /// The session function on DynamoDB (moto), then on Redis.
    pub dynamodb: Warm,
    pub redis: Warm,
    /// In process, interleaved: `RedisSessions::get` / a bare `HGETALL` of the same key.
    pub store_read: Vec<Duration>,
    pub raw_read: Vec<Duration>,
    /// `RedisSessions::write_data` / a bare `EVALSHA` of the store's own
    /// conditional-write script with the same arguments (on a second session), and
    /// of a one-`HSET` script with the same data: the store's own cost, and what
    /// the condition and the expiry cost on top of a plain write.
    pub store_write: Vec<Duration>,
    pub raw_write: Vec<Duration>,
    pub plain_write: Vec<Duration>,
}

async fn functions_on(
    config: &BenchConfig,
    env: &[(String, String)],
    fixtures: &Fixtures,
    name_prefix: &str,
    n: usize,
) -> Result<Warm, BenchError> {
    let login = binary(config, "login", env);
    let session = binary(config, "session", env);
    let token = new_user(fixtures, &login, name_prefix).await?.access_token;
    let routes = [
        fixture(
            fixtures,
            GET_SESSION,
            "apigw/session/get-session.json",
            vec![("access_token", token.clone())],
            200,
        )?,
        fixture(
            fixtures,
            PATCH_DATA,
            "apigw/session/patch-data.json",
            vec![("access_token", token)],
            200,
        )?,
    ];
    Ok(measure::warm(&session, &[], &routes, n).await?.0)
}

async fn store_against_raw(url: &str, n: usize) -> Result<RedisFigures, BenchError> {
    let info = url.into_connection_info()?;
    let policy = SessionPolicy {
        idle_timeout: Duration::from_secs(3600),
        absolute_lifetime: Duration::from_secs(24 * 3600),
    };
    let users = SqliteStore::open_in_memory()?;
    let owner = User {
        id: UserId::new_random(),
        login: Login::Password {
            email: Email::parse(&format!(
                "bench-{}@example.com",
                uuid::Uuid::new_v4().simple()
            ))?,
            password_hash: "$argon2id$unused".into(),
        },
        created_at: Timestamp::now(),
        deleting: false,
    };
    UserStore::create(&users, &owner).await?;
    let sessions = RedisSessions::new(
        RedisStore::connect(info.clone(), RedisTopology::Single, "skiff")?,
        Arc::new(users),
        policy,
    );
    let session = Session::start(SessionId::new_random(), owner.id, Timestamp::now());
    SessionStore::create(&sessions, &session).await?;
    let bare = Session::start(SessionId::new_random(), owner.id, Timestamp::now());
    SessionStore::create(&sessions, &bare).await?;
    // The key layout docs/sessions-on-redis.md documents.
    let key = format!("skiff:session:{{{}}}", session.id);
    let bare_key = format!("skiff:session:{{{}}}", bare.id);
    let mut raw = ConnectionManager::new(redis::Client::open(info)?).await?;
    let write_script = Script::new(include_str!(
        "../../../shared/src/adapters/redis/scripts/write_session.lua"
    ));
    let plain_script = Script::new("redis.call('HSET', KEYS[1], 'd', ARGV[1]) return 1");
    let mut figures = RedisFigures {
        dynamodb: Warm {
            routes: Vec::new(),
            peak_rss_kib: 0,
        },
        redis: Warm {
            routes: Vec::new(),
            peak_rss_kib: 0,
        },
        store_read: Vec::with_capacity(n),
        raw_read: Vec::with_capacity(n),
        store_write: Vec::with_capacity(n),
        raw_write: Vec::with_capacity(n),
        plain_write: Vec::with_capacity(n),
    };
    let mut version = Version::INITIAL;
    let mut bare_version = Version::INITIAL;
    for i in 0..n {
        let data = SessionData::parse(cart(i))?;
        let text = data.to_json_string();

        let started = Instant::now();
        let written = sessions
            .write_data(session.id, version, &data, Timestamp::now())
            .await?;
        figures.store_write.push(started.elapsed());
        let SessionWrite::Written(now) = written else {
            return Err("a benchmark write lost its version".into());
        };
        version = now.version;

        let now = Timestamp::now().unix_millis();
        let started = Instant::now();
        let written: Option<(String, String)> = write_script
            .key(&bare_key)
            .arg(bare_version.get())
            .arg(bare_version.next().get())
            .arg(&text)
            .arg(now)
            .arg(now + 3_600_000)
            .invoke_async(&mut raw)
            .await?;
        figures.raw_write.push(started.elapsed());
        if written.is_none() {
            return Err("a bare benchmark write lost its version".into());
        }
        bare_version = bare_version.next();

        let started = Instant::now();
        let _: i64 = plain_script
            .key(&key)
            .arg(&text)
            .invoke_async(&mut raw)
            .await?;
        figures.plain_write.push(started.elapsed());

        let started = Instant::now();
        let read = sessions.get(session.id).await?;
        figures.store_read.push(started.elapsed());
        if read.is_none() {
            return Err("the benchmark session is gone".into());
        }

        let started = Instant::now();
        let _: std::collections::HashMap<String, String> = raw.hgetall(&key).await?;
        figures.raw_read.push(started.elapsed());
    }
    Ok(figures)
}

/// Every Redis figure, with the function comparison first (it spawns processes),
/// then the in-process comparison.
pub async fn run(
    config: &BenchConfig,
    env: &[(String, String)],
    fixtures: &Fixtures,
    n: usize,
) -> Result<RedisFigures, BenchError> {
    let url = config.redis_url.as_str();
    let dynamodb = functions_on(config, env, fixtures, "bench-dynamodb-sessions", n).await?;
    let mut on_redis = env.to_vec();
    on_redis.push(("SKIFF_SESSION_STORE".into(), url.to_owned()));
    let redis = functions_on(config, &on_redis, fixtures, "bench-redis-sessions", n).await?;
    let mut figures = store_against_raw(url, n).await?;
    figures.dynamodb = dynamodb;
    figures.redis = redis;
    Ok(figures)
}
