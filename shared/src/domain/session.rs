use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{SessionId, Timestamp, UserId};

/// How long a session lives: it slides with every write (or refresh) up to an absolute cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session expires this long after its last write or refresh.
    pub idle_timeout: Duration,
    /// ...and never later than this after its login.
    pub absolute_lifetime: Duration,
}

/// The optimistic-concurrency version of a session's data; the ETag on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// A new session's version.
    pub const INITIAL: Version = Version(1);

    /// The version numbered `value`.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after this one.
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// The strong ETag form, `"<version>"`.
    pub fn etag(self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The application's state for one login: always a JSON object, at most 64 KiB serialised.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionData(Map<String, Value>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
/// Why session data was refused.
pub enum SessionDataError {
    #[error("session data must be a JSON object")]
    /// Session data is always a JSON object.
    NotAnObject,
    #[error("session data is {size} bytes serialised; the limit is {limit} bytes")]
    /// Over [`SessionData::MAX_SERIALIZED_BYTES`].
    TooLarge {
        /// The serialised size.
        size: usize,
        /// [`SessionData::MAX_SERIALIZED_BYTES`].
        limit: usize,
    },
}

impl SessionData {
    /// The largest serialised data accepted: what every store holds in one item.
    pub const MAX_SERIALIZED_BYTES: usize = 64 * 1024;

    /// No fields.
    pub fn empty() -> Self {
        Self(Map::new())
    }

    /// Checks that the value is an object within the size limit.
    pub fn parse(value: Value) -> Result<Self, SessionDataError> {
        let Value::Object(map) = value else {
            return Err(SessionDataError::NotAnObject);
        };
        let size = serde_json::to_vec(&map)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > Self::MAX_SERIALIZED_BYTES {
            return Err(SessionDataError::TooLarge {
                size,
                limit: Self::MAX_SERIALIZED_BYTES,
            });
        }
        Ok(Self(map))
    }

    /// Applies an RFC 7396 JSON merge patch; the patch itself must be an object.
    pub fn merge_patch(&self, patch: &Value) -> Result<Self, SessionDataError> {
        if !patch.is_object() {
            return Err(SessionDataError::NotAnObject);
        }
        let mut merged = Value::Object(self.0.clone());
        json_patch::merge(&mut merged, patch);
        Self::parse(merged)
    }

    /// The fields.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The data as compact JSON text, serialised from the map in place (every
    /// session write calls this, so no copy of the data is made).
    pub fn to_json_string(&self) -> String {
        // Serialising JSON values with string keys into a String cannot fail.
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

/// One login's session record as the stores keep it.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The `sid` claim of every token of this login.
    pub id: SessionId,
    /// The owner.
    pub user_id: UserId,
    /// The application's state.
    pub data: SessionData,
    /// Moves by one with every write; the ETag.
    pub version: Version,
    /// When the login happened.
    pub created_at: Timestamp,
    /// Last write or refresh: the start of the idle window.
    pub last_extended_at: Timestamp,
    /// Logged out, or ended by a refresh token's reuse or the account's deletion.
    pub revoked: bool,
}

impl Session {
    /// The session of a login at `now`, empty and at the initial version.
    pub fn start(id: SessionId, user_id: UserId, now: Timestamp) -> Self {
        Self {
            id,
            user_id,
            data: SessionData::empty(),
            version: Version::INITIAL,
            created_at: now,
            last_extended_at: now,
            revoked: false,
        }
    }

    /// `min(last write + idle timeout, created + absolute lifetime)`.
    pub fn expires_at(&self, policy: &SessionPolicy) -> Timestamp {
        let idle_end = self.last_extended_at.saturating_add(policy.idle_timeout);
        let absolute_end = self.created_at.saturating_add(policy.absolute_lifetime);
        idle_end.min(absolute_end)
    }

    /// Revoked or expired sessions behave the same everywhere, whether or not a
    /// store has deleted them yet.
    pub fn is_active(&self, now: Timestamp, policy: &SessionPolicy) -> bool {
        !self.revoked && now < self.expires_at(policy)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const POLICY: SessionPolicy = SessionPolicy {
        idle_timeout: Duration::from_secs(60),
        absolute_lifetime: Duration::from_secs(300),
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(seconds * 1000)
    }

    fn session_created_at(seconds: i64) -> Session {
        Session::start(SessionId::new_random(), UserId::new_random(), at(seconds))
    }

    #[test]
    fn idle_timeout_slides_from_the_last_write() {
        let mut session = session_created_at(0);
        assert_eq!(session.expires_at(&POLICY), at(60));
        assert!(session.is_active(at(59), &POLICY));
        assert!(!session.is_active(at(60), &POLICY));
        session.last_extended_at = at(50);
        assert_eq!(session.expires_at(&POLICY), at(110));
        assert!(session.is_active(at(100), &POLICY));
    }

    #[test]
    fn absolute_lifetime_caps_sliding() {
        let mut session = session_created_at(0);
        session.last_extended_at = at(280);
        assert_eq!(session.expires_at(&POLICY), at(300));
        assert!(!session.is_active(at(300), &POLICY));
    }

    #[test]
    fn revoked_is_never_active() {
        let mut session = session_created_at(0);
        session.revoked = true;
        assert!(!session.is_active(at(1), &POLICY));
    }

    #[test]
    fn data_must_be_an_object() {
        assert_eq!(
            SessionData::parse(json!([1, 2])),
            Err(SessionDataError::NotAnObject)
        );
        assert_eq!(
            SessionData::parse(json!("x")),
            Err(SessionDataError::NotAnObject)
        );
        assert!(SessionData::parse(json!({"cart": [1, 2]})).is_ok());
    }

    #[test]
    fn data_limit_is_64_kib_serialised() {
        // {"k":"…"} is 8 bytes of framing around the string.
        let fits = json!({ "k": "x".repeat(SessionData::MAX_SERIALIZED_BYTES - 8) });
        assert!(SessionData::parse(fits).is_ok());
        let over = json!({ "k": "x".repeat(SessionData::MAX_SERIALIZED_BYTES - 7) });
        assert!(matches!(
            SessionData::parse(over),
            Err(SessionDataError::TooLarge { size, .. }) if size == SessionData::MAX_SERIALIZED_BYTES + 1
        ));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let data = SessionData::parse(json!({"a": 1, "b": {"c": 2, "d": 3}})).unwrap();
        let merged = data
            .merge_patch(&json!({"a": null, "b": {"c": 9}, "e": [1]}))
            .unwrap();
        assert_eq!(
            Value::Object(merged.as_map().clone()),
            json!({"b": {"c": 9, "d": 3}, "e": [1]})
        );
        assert_eq!(
            data.merge_patch(&json!([1])),
            Err(SessionDataError::NotAnObject)
        );
    }

    #[test]
    fn merge_patch_result_is_size_checked() {
        let data = SessionData::parse(json!({"a": "x".repeat(40_000)})).unwrap();
        let patch = json!({"b": "y".repeat(40_000)});
        assert!(matches!(
            data.merge_patch(&patch),
            Err(SessionDataError::TooLarge { .. })
        ));
    }

    #[test]
    fn etag_is_quoted_version() {
        assert_eq!(Version::new(7).etag(), "\"7\"");
        assert_eq!(Version::new(7).next(), Version::new(8));
    }
}
