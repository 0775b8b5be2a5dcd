use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Email, FederatedIdentity, Timestamp, UserId};

#[derive(Clone, Debug)]
/// An account as stored.
pub struct User {
    /// The `sub` claim.
    pub id: UserId,
    /// How the account signs in, and the unique key that finds it.
    pub login: Login,
    /// When it registered.
    pub created_at: Timestamp,
    /// Set when a confirmed account deletion starts: from then on the account
    /// cannot log in and no session can be created for it.
    pub deleting: bool,
}

/// How an account signs in. Exactly one of the two, so an account never has a
/// password and an external identity that could disagree.
#[derive(Clone, Debug)]
pub enum Login {
    /// Registered with an email and a password.
    Password {
        /// The normalised login, unique among password accounts.
        email: Email,
        /// Argon2id PHC string; never leaves the auth service.
        password_hash: String,
    },
    /// Signed in through an OpenID Connect issuer the operator trusts.
    Federated {
        /// The unique (`iss`, `sub`) pair.
        identity: FederatedIdentity,
        /// The issuer's address for the person, kept only when the issuer said it
        /// was verified. Informational: it is not unique and never links accounts.
        email: Option<Email>,
    },
}

impl User {
    /// The password account's email.
    pub fn password_email(&self) -> Option<&Email> {
        match &self.login {
            Login::Password { email, .. } => Some(email),
            Login::Federated { .. } => None,
        }
    }

    /// The stored password hash, if the account has a password.
    pub fn password_hash(&self) -> Option<&str> {
        match &self.login {
            Login::Password { password_hash, .. } => Some(password_hash),
            Login::Federated { .. } => None,
        }
    }

    /// The external identity, if the account is federated.
    pub fn identity(&self) -> Option<&FederatedIdentity> {
        match &self.login {
            Login::Federated { identity, .. } => Some(identity),
            Login::Password { .. } => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Why an account was not created.
pub enum CreateUserError {
    #[error("email already registered")]
    /// The email already has a password account.
    EmailTaken,
    #[error("the federated identity already has an account")]
    /// Another request created the federated account first.
    IdentityTaken,
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

#[async_trait]
/// Accounts: unique by email (password accounts) or by identity (federated ones).
pub trait UserStore: Send + Sync {
    /// Creates the user unless its email or identity is taken; uniqueness is
    /// enforced by the store.
    async fn create(&self, user: &User) -> Result<(), CreateUserError>;
    /// The password account with this email.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// The federated account of this identity.
    async fn find_by_identity(
        &self,
        identity: &FederatedIdentity,
    ) -> Result<Option<User>, StoreError>;
    /// The account with this id.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Replaces the password hash if it is still `expected` (a login upgrading a
    /// weaker hash); returns whether it did. Another login that upgraded it first
    /// wins, which is as good: both hashes are of the same password.
    async fn replace_password_hash(
        &self,
        id: UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
    /// Marks the account as being deleted (idempotent; a missing user is fine).
    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError>;
    /// Removes the account and frees its email or identity (idempotent).
    async fn delete(&self, id: UserId) -> Result<(), StoreError>;
}
