//! The port conformance suite on a real Redis: the `redis-server` that `tests/run`
//! starts on a free loopback port (`SKIFF_TEST_REDIS_URL`), and the same server
//! binary run as a one-node Redis Cluster (`SKIFF_TEST_REDIS_CLUSTER_URL`), so the
//! hash-slot routing the scripts rely on is exercised too.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{RedisSessions, RedisStore, RedisTopology};
use crate::adapters::sqlite::SqliteStore;
use crate::domain::{
    Email, FederatedIdentity, LoginThrottlePolicy, RefreshTokenHash, Session, SessionData,
    SessionId, SessionPolicy, ThrottleKey, ThrottleState, Timestamp, UserId, Version,
};
use crate::ports::{
    CreateSessionError, CreateUserError, RefreshTokenRecord, RefreshTokenStore, RotateOutcome,
    SessionStore, SessionWrite, StoreError, ThrottleChange, ThrottleStore, User, UserStore,
};

/// Sessions that outlive any test: the suite's clock starts in 2100.
pub(crate) const POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: Duration::from_secs(365 * 24 * 3600),
    absolute_lifetime: Duration::from_secs(2 * 365 * 24 * 3600),
};

fn url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is unset: run the tests with `make test`, which starts redis-server")
    })
}

/// A connection to the test server in `topology`. Each `#[tokio::test]` has its
/// own runtime, so each gets its own connection.
pub(crate) fn redis(topology: RedisTopology) -> RedisStore {
    let variable = match topology {
        RedisTopology::Single => "SKIFF_TEST_REDIS_URL",
        RedisTopology::Cluster => "SKIFF_TEST_REDIS_CLUSTER_URL",
    };
    let info = redis::IntoConnectionInfo::into_connection_info(url(variable).as_str())
        .unwrap_or_else(|e| panic!("{variable}: {e}"));
    RedisStore::connect(
        info,
        topology,
        &format!("skiff:test-{}", uuid::Uuid::new_v4().simple()),
    )
    .unwrap()
}

/// What a host builds with `SKIFF_SESSION_STORE`: sessions and throttles on Redis,
/// everything else (here, users and refresh tokens) in the main store.
#[derive(Clone)]
pub(crate) struct SplitStore {
    main: SqliteStore,
    sessions: RedisSessions,
    throttles: RedisStore,
}

impl SplitStore {
    pub(crate) fn new(topology: RedisTopology) -> Self {
        let main = SqliteStore::open_in_memory().unwrap();
        let redis = redis(topology);
        Self {
            sessions: RedisSessions::new(redis.clone(), Arc::new(main.clone()), POLICY),
            main,
            throttles: redis,
        }
    }
}

// Delegation only, so the shared suite can take one value.
#[async_trait]
impl UserStore for SplitStore {
    async fn create(&self, user: &User) -> Result<(), CreateUserError> {
        UserStore::create(&self.main, user).await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.main.find_by_email(email).await
    }
    async fn find_by_identity(
        &self,
        identity: &FederatedIdentity,
    ) -> Result<Option<User>, StoreError> {
        self.main.find_by_identity(identity).await
    }
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.main.find_by_id(id).await
    }
    async fn replace_password_hash(
        &self,
        id: UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        self.main
            .replace_password_hash(id, expected, new_hash)
            .await
    }
    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        self.main.begin_deletion(id).await
    }
    async fn delete(&self, id: UserId) -> Result<(), StoreError> {
        self.main.delete(id).await
    }
}

#[async_trait]
impl RefreshTokenStore for SplitStore {
    async fn insert(&self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        self.main.insert(record).await
    }
    async fn find(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.main.find(hash).await
    }
    async fn rotate(
        &self,
        old: &RefreshTokenHash,
        new: &RefreshTokenRecord,
        now: Timestamp,
    ) -> Result<RotateOutcome, StoreError> {
        self.main.rotate(old, new, now).await
    }
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        RefreshTokenStore::delete_for_user(&self.main, user).await
    }
}

#[async_trait]
impl SessionStore for SplitStore {
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError> {
        SessionStore::create(&self.sessions, session).await
    }
    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.sessions.get(id).await
    }
    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError> {
        self.sessions.write_data(id, expected, data, now).await
    }
    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError> {
        self.sessions.extend(id, now).await
    }
    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        self.sessions.revoke(id).await
    }
    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        self.sessions.list_for_user(user).await
    }
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        SessionStore::delete_for_user(&self.sessions, user).await
    }
}

#[async_trait]
impl ThrottleStore for SplitStore {
    async fn change(
        &self,
        key: &ThrottleKey,
        now: Timestamp,
        policy: &LoginThrottlePolicy,
        change: ThrottleChange,
    ) -> Result<Option<ThrottleState>, StoreError> {
        self.throttles.change(key, now, policy, change).await
    }
}

/// The suite's session and throttle checks, for one topology.
macro_rules! redis_conformance_tests {
    ($module:ident, $topology:expr) => {
        mod $module {
            use super::SplitStore;
            use crate::ports::conformance as suite;
            use crate::ports::conformance_work as work;

            fn store() -> SplitStore {
                SplitStore::new($topology)
            }

            #[tokio::test]
            async fn sessions_round_trip_and_write_only_on_their_version() {
                suite::sessions_round_trip_and_write_only_on_their_version(&store()).await;
            }
            #[tokio::test]
            async fn revocation_blocks_writes_and_extension_only_moves_forward() {
                suite::revocation_blocks_writes_and_extension_only_moves_forward(&store()).await;
            }
            #[tokio::test]
            async fn concurrent_writers_on_one_version_have_one_winner() {
                suite::concurrent_writers_on_one_version_have_one_winner(store()).await;
            }
            #[tokio::test]
            async fn throttles_lock_on_failures_and_not_on_attempts_in_flight() {
                suite::throttles_lock_on_failures_and_not_on_attempts_in_flight(&store()).await;
            }
            #[tokio::test]
            async fn concurrent_attempts_never_exceed_the_limit() {
                suite::concurrent_attempts_never_exceed_the_limit(store()).await;
            }
            #[tokio::test]
            async fn sessions_are_created_only_for_live_users() {
                work::sessions_are_created_only_for_live_users(&store()).await;
            }
        }
    };
}

redis_conformance_tests!(conformance, super::RedisTopology::Single);
redis_conformance_tests!(conformance_on_a_cluster, super::RedisTopology::Cluster);

/// Redis, not a sweeper, ends sessions: each key's expiry is the session's
/// `expires_at`, moved by every write and refresh, never past the absolute end.
#[tokio::test]
async fn sessions_expire_natively_at_their_expires_at() {
    use redis::AsyncCommands;

    let policy = SessionPolicy {
        idle_timeout: Duration::from_secs(60),
        absolute_lifetime: Duration::from_secs(90),
    };
    let main = SqliteStore::open_in_memory().unwrap();
    let redis = redis(RedisTopology::Single);
    let sessions = RedisSessions::new(redis.clone(), Arc::new(main.clone()), policy);
    let session = crate::ports::conformance::new_session(&main).await;
    let now = Timestamp::now();
    let session = Session::start(session.id, session.user_id, now);
    SessionStore::create(&sessions, &session).await.unwrap();

    let mut connection = redis.connection().await.unwrap();
    let redis_keys = redis.clone();
    let mut expiry = async |id: SessionId| -> i64 {
        redis::cmd("PEXPIRETIME")
            .arg(redis_keys.session_key(id))
            .query_async(&mut connection)
            .await
            .unwrap()
    };
    assert_eq!(expiry(session.id).await, now.unix_millis() + 60_000);
    let later = now.saturating_add(Duration::from_secs(20));
    let data = SessionData::parse(serde_json::json!({"cart": 1})).unwrap();
    assert!(matches!(
        sessions
            .write_data(session.id, Version::INITIAL, &data, later)
            .await
            .unwrap(),
        SessionWrite::Written(_)
    ));
    assert_eq!(expiry(session.id).await, later.unix_millis() + 60_000);
    // A refresh near the absolute end: the idle window would pass it, the cap holds.
    sessions
        .extend(session.id, now.saturating_add(Duration::from_secs(80)))
        .await
        .unwrap();
    assert_eq!(expiry(session.id).await, now.unix_millis() + 90_000);

    // Already past its end when written: gone at once, as an expired session is.
    let old = crate::ports::conformance::new_session(&main).await;
    let old = Session::start(
        old.id,
        old.user_id,
        Timestamp::from_unix_millis(now.unix_millis() - 120_000),
    );
    SessionStore::create(&sessions, &old).await.unwrap();
    assert_eq!(sessions.get(old.id).await.unwrap(), None);
    let index: i64 = connection
        .exists(redis.index_key(old.user_id))
        .await
        .unwrap();
    assert_eq!(index, 0, "the index of a long-ended login outlived it");
}

/// A throttle counter lasts exactly as long as the domain needs it.
#[tokio::test]
async fn throttle_counters_are_forgotten_when_the_domain_says() {
    let redis = redis(RedisTopology::Single);
    let policy = crate::ports::conformance::THROTTLES;
    let [key, _, _] = ThrottleKey::for_login(
        &crate::ports::conformance::unique_email(),
        crate::domain::ClientAddress::Unknown,
    );
    let now = Timestamp::now();
    crate::ports::throttles::admit(&redis, &key, now, &policy)
        .await
        .unwrap();
    let stored: String = redis::cmd("GET")
        .arg(redis.counter_key(&key))
        .query_async(&mut redis.connection().await.unwrap())
        .await
        .unwrap();
    let state: ThrottleState = serde_json::from_str(&stored).unwrap();
    let expiry: i64 = redis::cmd("PEXPIRETIME")
        .arg(redis.counter_key(&key))
        .query_async(&mut redis.connection().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        expiry,
        state.forget_after(key.scope(), &policy).unix_millis()
    );
}
