use async_trait::async_trait;

use super::StoreError;
use crate::domain::{Email, Timestamp, UserId};

#[derive(Clone, Debug)]
/// An account as stored.
pub struct User {
    /// The `sub` claim.
    pub id: UserId,
    /// The normalised login.
    pub email: Email,
    /// Argon2id PHC string; never leaves the auth service.
    pub password_hash: String,
    /// When it registered.
    pub created_at: Timestamp,
    /// Set when a confirmed account deletion starts: from then on the account
    /// cannot log in and no session can be created for it.
    pub deleting: bool,
}

#[derive(Debug, thiserror::Error)]
/// Why an account was not created.
pub enum CreateUserError {
    #[error("email already registered")]
    /// The email is registered already.
    EmailTaken,
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
}

#[async_trait]
/// Accounts: unique by email.
pub trait UserStore: Send + Sync {
    /// Creates the user unless the email is taken; uniqueness is enforced by the store.
    async fn create(&self, user: &User) -> Result<(), CreateUserError>;
    /// The account with this email.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
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
    /// Removes the account and frees its email (idempotent).
    async fn delete(&self, id: UserId) -> Result<(), StoreError>;
}
