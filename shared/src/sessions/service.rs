use crate::telemetry::metric;
use std::sync::Arc;

use serde_json::Value;

use crate::auth::Authenticated;
use crate::domain::{
    Session, SessionData, SessionDataError, SessionId, SessionPolicy, Timestamp, UserId, Version,
};
use crate::error::Error;
use crate::ports::{Clock, SessionStore, SessionWrite};

/// An `If-Match` precondition, already parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match` (or `If-Match: *`): last writer wins, but no update is lost.
    #[default]
    None,
    /// Proceed only if the current version is one of these.
    AnyOf(Vec<Version>),
}

/// Reads and writes the caller's own session. Every write is a conditional write on
/// the version, so concurrent writers each get a distinct version and none is lost.
#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
}

impl SessionService {
    /// Writers that lose a race re-read and re-apply; this bounds the loop under
    /// pathological contention (then the caller gets a retryable 503).
    const MAX_WRITE_ATTEMPTS: usize = 32;

    /// Sessions in `store`, timed by `clock`, living as `policy` says.
    pub fn new(store: Arc<dyn SessionStore>, clock: Arc<dyn Clock>, policy: SessionPolicy) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    /// How long sessions live.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// `PUT /session/data`: the data becomes `body` (an object within the limits).
    pub async fn replace(
        &self,
        caller: Authenticated,
        body: Value,
        precondition: &Precondition,
    ) -> Result<Session, Error> {
        let data = SessionData::parse(body).map_err(data_error)?;
        self.write(caller, precondition, |_| Ok(data.clone())).await
    }

    /// `PATCH /session/data`: an RFC 7396 merge patch of the data.
    pub async fn merge_patch(
        &self,
        caller: Authenticated,
        patch: Value,
        precondition: &Precondition,
    ) -> Result<Session, Error> {
        if !patch.is_object() {
            return Err(data_error(SessionDataError::NotAnObject));
        }
        self.write(caller, precondition, |current| {
            current.merge_patch(&patch).map_err(data_error)
        })
        .await
    }

    /// `DELETE /session/data`: the data becomes `{}`.
    pub async fn clear(
        &self,
        caller: Authenticated,
        precondition: &Precondition,
    ) -> Result<Session, Error> {
        self.write(caller, precondition, |_| Ok(SessionData::empty()))
            .await
    }

    async fn write(
        &self,
        caller: Authenticated,
        precondition: &Precondition,
        change: impl Fn(&SessionData) -> Result<SessionData, Error>,
    ) -> Result<Session, Error> {
        self.update_data(&caller, precondition, |data| change(data).map(|d| (d, ())))
            .await
            .map(|(session, ())| session)
    }

    /// Applies `change` to the caller's session data by a conditional write on its
    /// version; a writer that loses a race re-reads and re-applies, so `change` may
    /// run more than once and must depend only on its input. With an `If-Match`, a
    /// version that moved on is [`Error::PreconditionFailed`]. Returns the session
    /// written and what the last run of `change` returned.
    pub async fn update_data<R>(
        &self,
        caller: &Authenticated,
        precondition: &Precondition,
        change: impl Fn(&SessionData) -> Result<(SessionData, R), Error>,
    ) -> Result<(Session, R), Error> {
        // The first attempt starts from the authentication's read; a lost race
        // re-reads.
        let mut snapshot = Some(caller.session.clone());
        for _ in 0..Self::MAX_WRITE_ATTEMPTS {
            let now = self.clock.now();
            let current = match snapshot.take() {
                Some(session) => session,
                None => {
                    self.load_active(caller.user_id, caller.session_id, now)
                        .await?
                }
            };
            if let Precondition::AnyOf(versions) = precondition
                && !versions.contains(&current.version)
            {
                metric::count(metric::SESSION_WRITE_CONFLICTS);
                return Err(Error::PreconditionFailed);
            }
            let (data, returned) = change(&current.data)?;
            match self
                .store
                .write_data(current.id, current.version, &data, now)
                .await?
            {
                SessionWrite::Written(session) => return Ok((session, returned)),
                // Someone else wrote first (or revoked the session): re-read. With an
                // If-Match the re-read then fails the precondition, as it must.
                SessionWrite::Conflict => metric::count(metric::SESSION_WRITE_CONFLICTS),
            }
        }
        Err(Error::Contention)
    }

    /// As [`update_data`](Self::update_data), for work off the request path (a
    /// job, a subscriber) that knows the session by id: `None` when the session has
    /// ended or is not `user`'s, so nothing is written for a logged-out user.
    pub async fn update_data_of(
        &self,
        user: UserId,
        session: SessionId,
        change: impl Fn(&SessionData) -> Result<SessionData, Error>,
    ) -> Result<Option<Session>, Error> {
        for _ in 0..Self::MAX_WRITE_ATTEMPTS {
            let now = self.clock.now();
            let current = match self.load_active(user, session, now).await {
                Ok(current) => current,
                Err(Error::Unauthenticated(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let data = change(&current.data)?;
            match self
                .store
                .write_data(current.id, current.version, &data, now)
                .await?
            {
                SessionWrite::Written(written) => return Ok(Some(written)),
                SessionWrite::Conflict => metric::count(metric::SESSION_WRITE_CONFLICTS),
            }
        }
        Err(Error::Contention)
    }

    /// The session if it is `user`'s and still active.
    pub async fn active(&self, user: UserId, session: SessionId) -> Result<Option<Session>, Error> {
        match self.load_active(user, session, self.clock.now()).await {
            Ok(current) => Ok(Some(current)),
            Err(Error::Unauthenticated(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn load_active(
        &self,
        user: UserId,
        session: SessionId,
        now: Timestamp,
    ) -> Result<Session, Error> {
        match self.store.get(session).await? {
            Some(s) if s.user_id == user && s.is_active(now, &self.policy) => Ok(s),
            _ => Err(Error::Unauthenticated("the session has ended")),
        }
    }
}

fn data_error(e: SessionDataError) -> Error {
    match e {
        SessionDataError::NotAnObject => Error::invalid(e),
        SessionDataError::TooLarge { .. } => Error::PayloadTooLarge(e.to_string()),
    }
}
