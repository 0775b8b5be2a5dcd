use std::sync::Arc;
use std::time::Duration;

use super::bounded_hasher::HashingLimits;
use super::credentials::CredentialCheck;
use super::federation::FederatedIssuer;
use super::{Authenticated, TokenSigner};
use crate::domain::{
    ClientAddress, Email, LoginThrottlePolicy, Password, RefreshToken, Session, SessionId,
    SessionPolicy, Settlement, ThrottleKey, UserId,
};
use crate::error::Error;
use crate::ports::{
    Clock, CreateSessionError, CreateUserError, Login, RefreshTokenRecord, RefreshTokenStore,
    RotateOutcome, SessionStore, Stores, User, UserStore,
};
use crate::telemetry::metric;

/// The knobs of the auth flows, parsed from the environment by `config`.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// How long sessions live.
    pub session: SessionPolicy,
    /// When failed logins lock.
    pub throttles: LoginThrottlePolicy,
    /// How many hashes run at once.
    pub hashing: HashingLimits,
    /// The OIDC issuers whose ID tokens log in (`SKIFF_FEDERATED_ISSUERS`);
    /// empty turns federated login off.
    pub federated_issuers: Vec<FederatedIssuer>,
}

/// What a successful login or refresh hands the client.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The JWT.
    pub access_token: String,
    /// Its lifetime.
    pub expires_in: Duration,
    /// Spent by the next refresh.
    pub refresh_token: RefreshToken,
    /// How long the refresh token can be used: its session's remaining lifetime
    /// (the refresh cookie's `Max-Age`).
    pub refresh_expires_in: Duration,
    /// The login's session.
    pub session_id: SessionId,
}

/// Register, login, refresh and logout, built only from ports so every host runs
/// the same flows.
#[derive(Clone)]
pub struct AuthService {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    clock: Arc<dyn Clock>,
    credentials: CredentialCheck,
    signer: TokenSigner,
    session_policy: SessionPolicy,
}

impl AuthService {
    /// The auth flows over `stores`.
    pub fn new(
        stores: Stores,
        clock: Arc<dyn Clock>,
        credentials: CredentialCheck,
        signer: TokenSigner,
        settings: &AuthSettings,
    ) -> Self {
        Self {
            users: stores.users,
            sessions: stores.sessions,
            refresh_tokens: stores.refresh_tokens,
            clock,
            credentials,
            signer,
            session_policy: settings.session,
        }
    }

    /// A registration that finds the email taken counts as a failure of the
    /// client's throttle: probing which emails exist is throttled like guessing.
    pub async fn register(
        &self,
        email: Email,
        password: Password,
        client: ClientAddress,
    ) -> Result<UserId, Error> {
        let reservation = self
            .credentials
            .throttles
            .admit(vec![ThrottleKey::for_client(client)])
            .await?;
        let password_hash = match self.credentials.hasher.hash(password).await {
            Ok(hash) => hash,
            Err(e) => {
                reservation.settle(Settlement::Released).await;
                return Err(e);
            }
        };
        let user = User {
            id: UserId::new_random(),
            login: Login::Password {
                email,
                password_hash,
            },
            created_at: self.clock.now(),
            deleting: false,
        };
        match self.users.create(&user).await {
            Ok(()) => {
                reservation.settle(Settlement::Succeeded).await;
                Ok(user.id)
            }
            Err(CreateUserError::EmailTaken) => {
                reservation.settle(Settlement::Failed).await;
                Err(Error::EmailTaken)
            }
            Err(CreateUserError::Store(e)) => {
                reservation.settle(Settlement::Released).await;
                Err(e.into())
            }
            Err(CreateUserError::IdentityTaken) => {
                reservation.settle(Settlement::Released).await;
                Err(Error::Internal(
                    "a password account was refused for an identity".into(),
                ))
            }
        }
    }

    /// Whether `POST /auth/federated` is served (issuers are configured).
    pub fn federated(&self) -> bool {
        self.credentials.federated()
    }

    /// Checks the password through the throttles, then starts a session.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        client: ClientAddress,
    ) -> Result<IssuedTokens, Error> {
        counted_login(
            async {
                let user = self.credentials.by_email(email, password, client).await?;
                self.start_session(user.id).await
            }
            .await,
        )
    }

    /// Verifies an ID token of a trusted issuer (through the login throttles), then
    /// starts a session for its account, creating the account on first use.
    pub async fn federated_login(
        &self,
        id_token: &str,
        client: ClientAddress,
    ) -> Result<IssuedTokens, Error> {
        counted_login(
            async {
                let user = self.credentials.by_id_token(id_token, client).await?;
                self.start_session(user.id).await
            }
            .await,
        )
    }

    async fn start_session(&self, user_id: UserId) -> Result<IssuedTokens, Error> {
        // Two independent writes, sent together. If one fails the login fails;
        // a refresh token written without its session can never be used, because
        // refreshing checks the session first.
        let now = self.clock.now();
        let session = Session::start(SessionId::new_random(), user_id, now);
        let refresh_token = RefreshToken::generate();
        let record = RefreshTokenRecord {
            hash: refresh_token.hash(),
            session_id: session.id,
            user_id,
            issued_at: now,
            spent_at: None,
        };
        let create_session = async {
            match self.sessions.create(&session).await {
                Ok(()) => Ok(()),
                // Deleted (or being deleted) since it was read above: the session
                // was not created, and the login fails like any unknown account's.
                Err(CreateSessionError::UserUnavailable) => Err(Error::InvalidCredentials),
                Err(CreateSessionError::Store(e)) => Err(e.into()),
            }
        };
        tokio::try_join!(create_session, async {
            self.refresh_tokens
                .insert(&record)
                .await
                .map_err(Error::from)
        })?;
        tracing::info!(%user_id, session_id = %session.id, "login succeeded");
        let lifetime = now.until(session.expires_at(&self.session_policy));
        self.issue(user_id, session.id, refresh_token, lifetime)
    }

    /// Rotates the refresh token. Presenting a spent token is treated as theft:
    /// the whole session is revoked, so both the thief's and the owner's tokens die.
    pub async fn refresh(&self, presented: &str) -> Result<IssuedTokens, Error> {
        let old = RefreshToken::parse(presented).ok_or(Error::InvalidRefreshToken)?;
        let old_hash = old.hash();
        let record = self
            .refresh_tokens
            .find(&old_hash)
            .await?
            .ok_or(Error::InvalidRefreshToken)?;
        let now = self.clock.now();
        let Some(mut session) = self
            .sessions
            .get(record.session_id)
            .await?
            .filter(|s| s.is_active(now, &self.session_policy))
        else {
            return Err(Error::InvalidRefreshToken);
        };
        if record.spent_at.is_some() {
            return self.revoke_for_reuse(record.session_id).await;
        }

        let new_token = RefreshToken::generate();
        let new_record = RefreshTokenRecord {
            hash: new_token.hash(),
            session_id: record.session_id,
            user_id: record.user_id,
            issued_at: now,
            spent_at: None,
        };
        match self
            .refresh_tokens
            .rotate(&old_hash, &new_record, now)
            .await?
        {
            RotateOutcome::Rotated => {}
            RotateOutcome::AlreadySpent => return self.revoke_for_reuse(record.session_id).await,
        }
        metric::count(metric::REFRESH_ROTATIONS);
        self.sessions.extend(record.session_id, now).await?;
        // What the store now holds: the idle window slid to `now`, the absolute cap kept.
        session.last_extended_at = now;
        let lifetime = now.until(session.expires_at(&self.session_policy));
        self.issue(record.user_id, record.session_id, new_token, lifetime)
    }

    async fn revoke_for_reuse(&self, session_id: SessionId) -> Result<IssuedTokens, Error> {
        tracing::warn!(%session_id, "refresh token reuse detected; revoking the session");
        metric::count(metric::REFRESH_REUSE_DETECTED);
        self.sessions.revoke(session_id).await?;
        Err(Error::InvalidRefreshToken)
    }

    /// Ends the caller's session.
    pub async fn logout(&self, caller: Authenticated) -> Result<(), Error> {
        self.sessions.revoke(caller.session_id).await?;
        tracing::info!(session_id = %caller.session_id, "logged out");
        Ok(())
    }

    fn issue(
        &self,
        user: UserId,
        session: SessionId,
        refresh_token: RefreshToken,
        refresh_expires_in: Duration,
    ) -> Result<IssuedTokens, Error> {
        Ok(IssuedTokens {
            access_token: self.signer.sign(user, session, self.clock.now())?,
            expires_in: self.signer.lifetime(),
            refresh_token,
            refresh_expires_in,
            session_id: session,
        })
    }
}

/// Counts a login's outcome: succeeded, refused for its credentials, or refused by
/// the throttles. Other errors (a backend down) are no verdict on the login.
fn counted_login(outcome: Result<IssuedTokens, Error>) -> Result<IssuedTokens, Error> {
    let name = match &outcome {
        Ok(_) => metric::LOGINS_SUCCEEDED,
        Err(Error::InvalidCredentials | Error::InvalidIdToken) => metric::LOGINS_FAILED,
        Err(Error::TooManyAttempts { .. }) => metric::LOGINS_THROTTLED,
        Err(_) => return outcome,
    };
    metric::count(name);
    outcome
}
