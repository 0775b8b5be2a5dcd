//! The one way a password is checked, for login and for re-authentication alike:
//! through the login throttles, within the hashing bound, against a dummy hash when
//! the account is unknown, and upgrading a weaker stored hash on a match.

use std::sync::Arc;

use super::bounded_hasher::{BoundedHasher, Verified};
use super::login_throttles::{LoginThrottles, Reservation};
use crate::domain::{ClientAddress, Email, Settlement, ThrottleKey, UserId};
use crate::error::Error;
use crate::ports::{User, UserStore};

/// Cheap to clone; built once per process.
#[derive(Clone)]
pub struct CredentialCheck {
    users: Arc<dyn UserStore>,
    pub(super) hasher: BoundedHasher,
    pub(super) throttles: LoginThrottles,
}

impl CredentialCheck {
    pub fn new(
        users: Arc<dyn UserStore>,
        hasher: BoundedHasher,
        throttles: LoginThrottles,
    ) -> Self {
        Self {
            users,
            hasher,
            throttles,
        }
    }

    /// The account `email` names, if `password` is its password. Every outcome for
    /// a given answer does the same Argon2 work, so neither the body nor the timing
    /// tells an unknown email from a wrong password.
    pub async fn by_email(
        &self,
        email: &str,
        password: String,
        client: ClientAddress,
    ) -> Result<User, Error> {
        // An unparseable email can't belong to an account, but it still gets
        // throttle counters and a dummy verification like any other unknown login.
        let parsed = Email::parse(email).ok();
        let login = parsed
            .as_ref()
            .map_or_else(|| email.trim().to_lowercase(), |e| e.as_str().to_owned());
        // The attempt is admitted and the account looked up at the same time; the
        // password is still checked only once the attempt was admitted.
        let admission = self
            .throttles
            .admit(ThrottleKey::for_login(&login, client).to_vec());
        let lookup = async {
            match &parsed {
                Some(email) => self.users.find_by_email(email).await.map_err(Error::from),
                None => Ok(None),
            }
        };
        let (reservation, user) = tokio::try_join!(admission, lookup)?;
        self.verify(reservation, user, password).await
    }

    /// The signed-in user `id`, if `password` is still its password: what a
    /// destructive request asks for, so a stolen access token alone is not enough.
    /// Counted by the same throttles as a login with the account's email.
    pub async fn by_id(
        &self,
        id: UserId,
        password: String,
        client: ClientAddress,
    ) -> Result<User, Error> {
        let user = self.users.find_by_id(id).await?;
        let login = user
            .as_ref()
            .map_or_else(|| id.to_string(), |u| u.email.as_str().to_owned());
        let reservation = self
            .throttles
            .admit(ThrottleKey::for_login(&login, client).to_vec())
            .await?;
        self.verify(reservation, user, password).await
    }

    async fn verify(
        &self,
        reservation: Reservation,
        user: Option<User>,
        password: String,
    ) -> Result<User, Error> {
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verified = match self.hasher.verify(password, stored).await {
            Ok(verified) => verified,
            Err(e) => {
                reservation.settle(Settlement::Released).await;
                return Err(e);
            }
        };
        // An account being deleted answers like an unknown one.
        match (verified, user) {
            (Verified::Yes { upgraded }, Some(user)) if !user.deleting => {
                reservation.settle(Settlement::Succeeded).await;
                if let Some(new_hash) = upgraded {
                    self.upgrade(&user, &new_hash).await;
                }
                Ok(user)
            }
            _ => {
                reservation.settle(Settlement::Failed).await;
                tracing::info!("password check failed");
                Err(Error::InvalidCredentials)
            }
        }
    }

    /// Best effort: the password was right either way, and the next login tries again.
    async fn upgrade(&self, user: &User, new_hash: &str) {
        match self
            .users
            .replace_password_hash(user.id, &user.password_hash, new_hash)
            .await
        {
            Ok(true) => {
                tracing::info!(user_id = %user.id, "password hash upgraded to the current parameters")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "could not upgrade the password hash")
            }
        }
    }
}
