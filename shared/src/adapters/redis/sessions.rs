use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::{RedisStore, failed};
use crate::domain::{Session, SessionData, SessionId, SessionPolicy, Timestamp, UserId, Version};
use crate::ports::stored_session_data;
use crate::ports::{CreateSessionError, SessionStore, SessionWrite, StoreError, UserStore};

static CREATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/create_session.lua")));
static INDEX: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/index_session.lua")));
static WRITE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/write_session.lua")));
static EXTEND: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/extend_session.lua")));
static REVOKE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/revoke_session.lua")));

/// The session port on Redis. It reads the owner from the main store when a
/// session is created (users stay there), and needs the session policy because
/// Redis, not a sweeper, expires each session at its `expires_at`.
#[derive(Clone)]
pub struct RedisSessions {
    redis: RedisStore,
    users: Arc<dyn UserStore>,
    policy: SessionPolicy,
}

impl RedisSessions {
    /// Sessions on `redis`, for the users in `users`, living as `policy` says.
    pub fn new(redis: RedisStore, users: Arc<dyn UserStore>, policy: SessionPolicy) -> Self {
        Self {
            redis,
            users,
            policy,
        }
    }

    fn idle_end(&self, now: Timestamp) -> i64 {
        now.saturating_add(self.policy.idle_timeout).unix_millis()
    }
}

impl RedisStore {
    pub(super) fn session_key(&self, id: SessionId) -> String {
        self.key("session", id)
    }

    pub(super) fn index_key(&self, user: UserId) -> String {
        self.key("user-sessions", user)
    }
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Result<&'a str, StoreError> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::message("malformed session in redis"))
}

fn parsed<T: std::str::FromStr>(
    fields: &HashMap<String, String>,
    name: &str,
) -> Result<T, StoreError> {
    field(fields, name)?
        .parse()
        .map_err(|_| StoreError::message("malformed session in redis"))
}

fn session_from(id: SessionId, fields: &HashMap<String, String>) -> Result<Session, StoreError> {
    Ok(Session {
        id,
        user_id: parsed(fields, "u")?,
        data: stored_session_data(field(fields, "d")?)?,
        version: Version::new(parsed(fields, "v")?),
        created_at: Timestamp::from_unix_millis(parsed(fields, "c")?),
        last_extended_at: Timestamp::from_unix_millis(parsed(fields, "e")?),
        revoked: field(fields, "r")? == "1",
    })
}

#[async_trait]
impl SessionStore for RedisSessions {
    /// Indexes the session under its user, writes it, then reads the user from the
    /// main store and revokes the new session if the user is gone or being deleted.
    /// The order closes the race with the deletion workflow as the DynamoDB store's
    /// does: the workflow marks the user before it lists the index, so either this
    /// read sees the mark or the listing sees this session.
    async fn create(&self, session: &Session) -> Result<(), CreateSessionError> {
        let absolute_end = session
            .created_at
            .saturating_add(self.policy.absolute_lifetime);
        let mut connection = self.redis.connection().await?;
        let _: i64 = INDEX
            .key(self.redis.index_key(session.user_id))
            .arg(session.id.to_string())
            .arg(absolute_end.unix_millis())
            .invoke_async(&mut connection)
            .await
            .map_err(failed("index session"))?;
        let created: i64 = CREATE
            .key(self.redis.session_key(session.id))
            .arg(session.user_id.to_string())
            .arg(session.data.to_json_string())
            .arg(session.version.get())
            .arg(session.created_at.unix_millis())
            .arg(session.last_extended_at.unix_millis())
            .arg(if session.revoked { "1" } else { "0" })
            .arg(absolute_end.unix_millis())
            .arg(session.expires_at(&self.policy).unix_millis())
            .invoke_async(&mut connection)
            .await
            .map_err(failed("create session"))?;
        if created != 1 {
            return Err(StoreError::message("session id already taken").into());
        }
        let owner = self.users.find_by_id(session.user_id).await?;
        if owner.is_some_and(|user| !user.deleting) {
            return Ok(());
        }
        self.revoke(session.id).await?;
        Err(CreateSessionError::UserUnavailable)
    }

    async fn get(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let fields: HashMap<String, String> = self
            .redis
            .connection()
            .await?
            .hgetall(self.redis.session_key(id))
            .await
            .map_err(failed("get session"))?;
        if fields.is_empty() {
            return Ok(None);
        }
        session_from(id, &fields).map(Some)
    }

    async fn write_data(
        &self,
        id: SessionId,
        expected: Version,
        data: &SessionData,
        now: Timestamp,
    ) -> Result<SessionWrite, StoreError> {
        let next = expected.next();
        let written: Option<(String, String)> = WRITE
            .key(self.redis.session_key(id))
            .arg(expected.get())
            .arg(next.get())
            .arg(data.to_json_string())
            .arg(now.unix_millis())
            .arg(self.idle_end(now))
            .invoke_async(&mut self.redis.connection().await?)
            .await
            .map_err(failed("write session data"))?;
        let Some((user, created)) = written else {
            return Ok(SessionWrite::Conflict);
        };
        let malformed = || StoreError::message("malformed session in redis");
        Ok(SessionWrite::Written(Session {
            id,
            user_id: user.parse().map_err(|_| malformed())?,
            data: data.clone(),
            version: next,
            created_at: Timestamp::from_unix_millis(created.parse().map_err(|_| malformed())?),
            last_extended_at: now,
            revoked: false,
        }))
    }

    async fn extend(&self, id: SessionId, now: Timestamp) -> Result<(), StoreError> {
        let _: i64 = EXTEND
            .key(self.redis.session_key(id))
            .arg(now.unix_millis())
            .arg(self.idle_end(now))
            .invoke_async(&mut self.redis.connection().await?)
            .await
            .map_err(failed("extend session"))?;
        Ok(())
    }

    async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        let _: i64 = REVOKE
            .key(self.redis.session_key(id))
            .invoke_async(&mut self.redis.connection().await?)
            .await
            .map_err(failed("revoke session"))?;
        Ok(())
    }

    /// Every id in the user's set. It can name sessions Redis has already expired:
    /// callers revoke or delete them, which is a no-op for a gone session.
    async fn list_for_user(&self, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        let ids: Vec<String> = self
            .redis
            .connection()
            .await?
            .smembers(self.redis.index_key(user))
            .await
            .map_err(failed("list sessions of user"))?;
        ids.iter()
            .map(|id| {
                id.parse()
                    .map_err(|_| StoreError::message("malformed session index in redis"))
            })
            .collect()
    }

    /// The sessions first, then the set, so a failure part-way leaves the set to
    /// find what remains on the next try.
    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let ids = self.list_for_user(user).await?;
        let mut connection = self.redis.connection().await?;
        // One command per session: on a cluster each key is in its own hash slot.
        for id in &ids {
            let _: i64 = connection
                .del(self.redis.session_key(*id))
                .await
                .map_err(failed("delete sessions of user"))?;
        }
        let _: i64 = connection
            .del(self.redis.index_key(user))
            .await
            .map_err(failed("delete session index of user"))?;
        Ok(())
    }
}
