//! The one way a password is checked, for login and for re-authentication alike:
//! through the login throttles, within the hashing bound, against a dummy hash when
//! the account is unknown, and upgrading a weaker stored hash on a match.

use std::sync::Arc;

use super::bounded_hasher::{BoundedHasher, Verified};
use super::federation::Federation;
use super::login_throttles::{LoginThrottles, Reservation};
use crate::domain::{ClientAddress, Email, Settlement, ThrottleKey, UserId};
use crate::error::Error;
use crate::ports::{User, UserStore};

/// Cheap to clone; built once per process.
#[derive(Clone)]
pub struct CredentialCheck {
    pub(super) users: Arc<dyn UserStore>,
    pub(super) hasher: BoundedHasher,
    pub(super) throttles: LoginThrottles,
    /// The trusted OIDC issuers, when federated login is on.
    pub(super) federation: Option<Arc<Federation>>,
}

impl CredentialCheck {
    /// Checks passwords of `users` with `hasher`, through `throttles`.
    pub fn new(
        users: Arc<dyn UserStore>,
        hasher: BoundedHasher,
        throttles: LoginThrottles,
    ) -> Self {
        Self {
            users,
            hasher,
            throttles,
            federation: None,
        }
    }

    /// Also accepts ID tokens of `federation`'s issuers (`POST /auth/federated`,
    /// and re-authentication of federated accounts).
    pub fn with_federation(mut self, federation: Arc<Federation>) -> Self {
        self.federation = Some(federation);
        self
    }

    /// Whether federated login is on (`SKIFF_FEDERATED_ISSUERS` is set).
    pub fn federated(&self) -> bool {
        self.federation.is_some()
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
            .and_then(User::password_email)
            .map_or_else(|| id.to_string(), |e| e.as_str().to_owned());
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
        // A federated account has no hash: the dummy one is checked instead, so
        // it answers like an unknown account, in the same time.
        let stored = user
            .as_ref()
            .and_then(User::password_hash)
            .map(str::to_owned);
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
        let Some(old_hash) = user.password_hash() else {
            return;
        };
        match self
            .users
            .replace_password_hash(user.id, old_hash, new_hash)
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

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::adapters::sqlite::SqliteStore;
    use crate::auth::{HashingLimits, PasswordHasher};
    use crate::domain::{LoginThrottlePolicy, ThrottleLimit, Timestamp};
    use crate::ports::{Stores, SystemClock};

    fn check(stores: &Stores) -> CredentialCheck {
        let limit = ThrottleLimit {
            max_failures: 5,
            window: Duration::from_secs(900),
            lock_for: Duration::from_secs(900),
        };
        CredentialCheck::new(
            stores.users.clone(),
            BoundedHasher::new(
                PasswordHasher::new().unwrap(),
                HashingLimits::default_for_this_machine(),
            ),
            LoginThrottles::new(
                stores.throttles.clone(),
                Arc::new(SystemClock),
                LoginThrottlePolicy {
                    client_account: limit,
                    client: limit,
                    account: limit,
                    in_flight_timeout: Duration::from_secs(30),
                },
                Duration::from_secs(2),
            ),
        )
    }

    /// A hash from an older, cheaper setting is replaced by today's on the next
    /// successful login, and the password still works afterwards.
    #[tokio::test]
    async fn a_login_upgrades_a_weaker_stored_hash() {
        let stores = Stores::from_one(SqliteStore::open_in_memory().unwrap());
        let weak = PasswordHasher::weaker_hash_for_tests("correct horse battery");
        let user = User {
            id: UserId::new_random(),
            login: crate::ports::Login::Password {
                email: Email::parse("old@example.com").unwrap(),
                password_hash: weak.clone(),
            },
            created_at: Timestamp::now(),
            deleting: false,
        };
        stores.users.create(&user).await.unwrap();
        let check = check(&stores);
        let client = ClientAddress::Unknown;

        assert!(matches!(
            check
                .by_email("old@example.com", "wrong horse battery".into(), client)
                .await,
            Err(Error::InvalidCredentials)
        ));
        let stored = stores.users.find_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(
            stored.password_hash(),
            Some(weak.as_str()),
            "a failed login changes nothing"
        );

        check
            .by_email("old@example.com", "correct horse battery".into(), client)
            .await
            .unwrap();
        let stored = stores.users.find_by_id(user.id).await.unwrap().unwrap();
        let hash = stored.password_hash().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        check
            .by_email("old@example.com", "correct horse battery".into(), client)
            .await
            .unwrap();
    }
}
