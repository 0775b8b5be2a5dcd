//! Typed access to one field of the caller's session data, in the spirit of
//! tower-sessions' typed `Session` access, on Skiff's versioned session store.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::Authenticated;
use crate::domain::{Session, SessionData, SessionDataError, SessionId, UserId, Version};
use crate::error::Error;
use crate::sessions::{Precondition, SessionService};

/// A value together with the session version it was read at or written as. The
/// version is the session's ETag: send it back in `If-Match` to write only over
/// what was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    /// The state.
    pub value: T,
    /// The session's version.
    pub version: Version,
}

impl<T> Versioned<T> {
    /// The strong ETag of the version, `"<n>"`.
    pub fn etag(&self) -> String {
        self.version.etag()
    }
}

/// A typed slot in the session's data: the field `key` holds a `T` as JSON. The
/// state ends with the session (logout, expiry, account deletion) and is versioned
/// with it: every write is conditional on the version read, and a writer that
/// loses a race re-reads and re-applies its change, so no update is lost.
///
/// The field is part of the session data that `GET /session` shows and
/// `PUT|PATCH /session/data` can change; an app that shares the session with such
/// clients picks a key they leave alone.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use skiff::app::SessionState;
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Visits {
///     count: u32,
/// }
///
/// const VISITS: SessionState<Visits> = SessionState::new("visits");
/// assert_eq!(VISITS.key(), "visits");
/// ```
pub struct SessionState<T> {
    key: &'static str,
    state: PhantomData<fn() -> T>,
}

impl<T> Clone for SessionState<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SessionState<T> {}

impl<T> SessionState<T>
where
    T: Serialize + DeserializeOwned + Default,
{
    /// The slot named `key` in the session data.
    pub const fn new(key: &'static str) -> Self {
        Self {
            key,
            state: PhantomData,
        }
    }

    /// The field's name.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The state in `session` (the default when the field is absent). A field the
    /// app cannot read (someone stored something else there through
    /// `/session/data`) is a 409: it is never silently replaced.
    pub fn read(&self, session: &Session) -> Result<Versioned<T>, Error> {
        Ok(Versioned {
            value: self.decode(&session.data)?,
            version: session.version,
        })
    }

    /// Changes the caller's state: `change` gets the current state and may refuse
    /// with an error (nothing is written then). It may run more than once when
    /// writers race, so it must depend only on its input. With
    /// `Precondition::AnyOf` a version that moved on is a 412.
    pub async fn update<R>(
        &self,
        sessions: &SessionService,
        caller: &Authenticated,
        precondition: &Precondition,
        change: impl Fn(&mut T) -> Result<R, Error>,
    ) -> Result<(Versioned<T>, R), Error> {
        let (session, (value, returned)) = sessions
            .update_data(caller, precondition, |data| {
                let mut value = self.decode(data)?;
                let returned = change(&mut value)?;
                Ok((self.encode(data, &value)?, (value, returned)))
            })
            .await?;
        Ok((
            Versioned {
                value,
                version: session.version,
            },
            returned,
        ))
    }

    /// As [`update`](Self::update), for work off the request path (a job) that
    /// knows the session by id. `None` when the session has ended: nothing is
    /// written for a user who logged out.
    pub async fn update_of(
        &self,
        sessions: &SessionService,
        user: UserId,
        session: SessionId,
        change: impl Fn(&mut T) -> Result<(), Error>,
    ) -> Result<Option<Versioned<T>>, Error> {
        let written = sessions
            .update_data_of(user, session, |data| {
                let mut value = self.decode(data)?;
                change(&mut value)?;
                self.encode(data, &value)
            })
            .await?;
        written.map(|session| self.read(&session)).transpose()
    }

    fn decode(&self, data: &SessionData) -> Result<T, Error> {
        match data.as_map().get(self.key) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(value) => T::deserialize(value).map_err(|e| {
                tracing::warn!(key = self.key, error = %e, "session state does not decode");
                Error::Conflict("the session holds state this app cannot read; clear it and retry")
            }),
        }
    }

    fn encode(&self, data: &SessionData, value: &T) -> Result<SessionData, Error> {
        let value = serde_json::to_value(value)
            .map_err(|e| Error::internal(format!("encode session state: {e}")))?;
        let mut map = data.as_map().clone();
        map.insert(self.key.to_owned(), value);
        SessionData::parse(Value::Object(map)).map_err(|e| match e {
            SessionDataError::TooLarge { .. } => Error::PayloadTooLarge(e.to_string()),
            SessionDataError::NotAnObject => Error::internal(e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Counter {
        n: u32,
    }

    const COUNTER: SessionState<Counter> = SessionState::new("counter");

    fn session_with(data: Value) -> Session {
        let mut session = Session::start(
            SessionId::new_random(),
            UserId::new_random(),
            Timestamp::from_unix_millis(0),
        );
        session.data = SessionData::parse(data).unwrap();
        session
    }

    #[test]
    fn absent_state_is_the_default_and_other_fields_stay() {
        let session = session_with(serde_json::json!({"theme": "dark"}));
        assert_eq!(COUNTER.read(&session).unwrap().value, Counter::default());
        let written = COUNTER.encode(&session.data, &Counter { n: 2 }).unwrap();
        assert_eq!(
            Value::Object(written.as_map().clone()),
            serde_json::json!({"theme": "dark", "counter": {"n": 2}})
        );
    }

    #[test]
    fn unreadable_state_is_a_conflict_not_a_reset() {
        let session = session_with(serde_json::json!({"counter": "seven"}));
        assert!(matches!(COUNTER.read(&session), Err(Error::Conflict(_))));
    }
}
