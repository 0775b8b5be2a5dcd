use std::sync::Arc;

use super::TokenVerifier;
use crate::domain::{Session, SessionId, SessionPolicy, UserId};
use crate::error::Error;
use crate::ports::{Clock, SessionStore};

/// A caller proven by a valid access token whose session is still active.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The `sub` claim.
    pub user_id: UserId,
    /// The `sid` claim.
    pub session_id: SessionId,
    /// The session as read to check the token, so a handler does not read it again:
    /// a `GET /session` costs one backend read, not two. Writes stay conditional on
    /// its version, so a stale snapshot can only cost a retry, never a lost update.
    pub session: Session,
}

/// Turns a bearer token into an [`Authenticated`] caller. Needs only public keys, so
/// a host that verifies but never signs (the session function) holds no secret.
#[derive(Clone)]
pub struct Authenticator {
    verifier: TokenVerifier,
    sessions: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    policy: SessionPolicy,
}

impl Authenticator {
    /// Checks tokens with `verifier` and their sessions in `sessions`.
    pub fn new(
        verifier: TokenVerifier,
        sessions: Arc<dyn SessionStore>,
        clock: Arc<dyn Clock>,
        policy: SessionPolicy,
    ) -> Self {
        Self {
            verifier,
            sessions,
            clock,
            policy,
        }
    }

    /// Checks the signature and claims, then that the session is still active, so a
    /// logout or reuse revocation takes effect before the token expires.
    pub async fn authenticate(&self, bearer: &str) -> Result<Authenticated, Error> {
        let claims = self.verifier.verify(bearer).map_err(|e| {
            tracing::info!(reason = %e, "access token refused");
            Error::Unauthenticated("the access token is invalid or expired")
        })?;
        match self.sessions.get(claims.sid).await? {
            Some(s) if s.user_id == claims.sub && s.is_active(self.clock.now(), &self.policy) => {
                Ok(Authenticated {
                    user_id: claims.sub,
                    session_id: claims.sid,
                    session: s,
                })
            }
            _ => Err(Error::Unauthenticated("the session has ended")),
        }
    }
}
