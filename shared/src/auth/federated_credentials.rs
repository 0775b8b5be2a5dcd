//! The federated half of the credential check: an ID token instead of a password,
//! through the same login throttles.

use std::time::Duration;

use super::CredentialCheck;
use super::federation::{VerifiedIdToken, VerifyError};
use super::login_throttles::Reservation;
use crate::domain::{ClientAddress, Settlement, ThrottleKey, Timestamp, UserId};
use crate::error::Error;
use crate::ports::{CreateUserError, Login, User};

/// How recently a federated account must have signed in at its issuer to delete
/// itself: the same "prove it is you, now" as asking for the password again.
pub const REAUTHENTICATION_WINDOW: Duration = Duration::from_secs(5 * 60);

impl CredentialCheck {
    /// Verifies `id_token` through the client's throttle, settling it by the
    /// outcome: a refused token counts as a failed login.
    async fn verified(
        &self,
        reservation: Reservation,
        id_token: &str,
    ) -> Result<(Reservation, VerifiedIdToken), Error> {
        let Some(federation) = &self.federation else {
            reservation.settle(Settlement::Released).await;
            return Err(Error::NotFound);
        };
        match federation.verify(id_token).await {
            Ok(verified) => Ok((reservation, verified)),
            Err(VerifyError::Refused(reason)) => {
                reservation.settle(Settlement::Failed).await;
                tracing::info!(%reason, "ID token refused");
                Err(Error::InvalidIdToken)
            }
            Err(VerifyError::Unavailable(e)) => {
                reservation.settle(Settlement::Released).await;
                Err(e.into())
            }
        }
    }

    /// The account of a valid ID token: the one linked to its (`iss`, `sub`), or a
    /// new one on first use. No email ever links it to a password account.
    pub async fn by_id_token(&self, id_token: &str, client: ClientAddress) -> Result<User, Error> {
        let reservation = self
            .throttles
            .admit(vec![ThrottleKey::for_client(client)])
            .await?;
        let (reservation, verified) = self.verified(reservation, id_token).await?;
        let user = match self.find_or_create(verified).await {
            Ok(user) => user,
            Err(e) => {
                reservation.settle(Settlement::Released).await;
                return Err(e);
            }
        };
        if user.deleting {
            reservation.settle(Settlement::Failed).await;
            return Err(Error::InvalidIdToken);
        }
        reservation.settle(Settlement::Succeeded).await;
        Ok(user)
    }

    async fn find_or_create(&self, verified: VerifiedIdToken) -> Result<User, Error> {
        if let Some(user) = self.users.find_by_identity(&verified.identity).await? {
            return Ok(user);
        }
        let user = User {
            id: UserId::new_random(),
            login: Login::Federated {
                identity: verified.identity.clone(),
                email: verified.verified_email,
            },
            created_at: Timestamp::now(),
            deleting: false,
        };
        match self.users.create(&user).await {
            Ok(()) => {
                tracing::info!(user_id = %user.id, issuer = verified.identity.issuer(), "federated account created");
                Ok(user)
            }
            // Another first login of the same identity won: use its account.
            Err(CreateUserError::IdentityTaken) => self
                .users
                .find_by_identity(&verified.identity)
                .await?
                .ok_or(Error::Unavailable(crate::ports::StoreError::message(
                    "the federated account vanished while it was created",
                ))),
            Err(CreateUserError::EmailTaken) => Err(Error::Internal(
                "a federated account was refused for its email".into(),
            )),
            Err(CreateUserError::Store(e)) => Err(e.into()),
        }
    }

    /// The signed-in federated user `id`, if `id_token` is its issuer's and was
    /// issued for a sign-in within the last five minutes. Counted by the same
    /// throttles as a password re-authentication.
    pub async fn by_id_and_id_token(
        &self,
        id: UserId,
        id_token: &str,
        client: ClientAddress,
    ) -> Result<User, Error> {
        let user = self.users.find_by_id(id).await?;
        let reservation = self
            .throttles
            .admit(ThrottleKey::for_login(&id.to_string(), client).to_vec())
            .await?;
        let (reservation, verified) = self.verified(reservation, id_token).await?;
        let fresh = verified
            .authenticated_at
            .saturating_add(REAUTHENTICATION_WINDOW)
            >= Timestamp::now();
        match user {
            Some(user)
                if !user.deleting && fresh && user.identity() == Some(&verified.identity) =>
            {
                reservation.settle(Settlement::Succeeded).await;
                Ok(user)
            }
            _ => {
                reservation.settle(Settlement::Failed).await;
                tracing::info!(fresh, "federated re-authentication refused");
                Err(Error::InvalidIdToken)
            }
        }
    }
}
