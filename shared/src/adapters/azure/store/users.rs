use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, digest, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{Email, FederatedIdentity, Timestamp, UserId};
use crate::ports::{CreateUserError, Login, StoreError, User, UserStore};

/// One document for both kinds of account: a password account has `email` and
/// `password_hash`, a federated one `issuer`, `subject` and maybe `verified_email`.
#[derive(Clone, Serialize, Deserialize)]
struct UserDoc {
    user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verified_email: Option<String>,
    created_at: i64,
    #[serde(default)]
    deleting: bool,
}

fn decode_email(text: &str) -> Result<Email, StoreError> {
    Email::parse(text).map_err(|e| StoreError::new("decode user", e))
}

impl UserDoc {
    fn of(user: &User) -> Self {
        let mut doc = Self {
            user_id: user.id.to_string(),
            email: None,
            password_hash: None,
            issuer: None,
            subject: None,
            verified_email: None,
            created_at: user.created_at.unix_millis(),
            deleting: user.deleting,
        };
        match &user.login {
            Login::Password {
                email,
                password_hash,
            } => {
                doc.email = Some(email.as_str().to_owned());
                doc.password_hash = Some(password_hash.clone());
            }
            Login::Federated { identity, email } => {
                doc.issuer = Some(identity.issuer().to_owned());
                doc.subject = Some(identity.subject().to_owned());
                doc.verified_email = email.as_ref().map(|e| e.as_str().to_owned());
            }
        }
        doc
    }

    fn user(self) -> Result<User, StoreError> {
        let login = match (self.email, self.password_hash, self.issuer, self.subject) {
            (Some(email), Some(password_hash), None, None) => Login::Password {
                email: decode_email(&email)?,
                password_hash,
            },
            (None, None, Some(issuer), Some(subject)) => Login::Federated {
                identity: FederatedIdentity::new(&issuer, &subject)
                    .map_err(|e| StoreError::new("decode user", e))?,
                email: self
                    .verified_email
                    .as_deref()
                    .map(decode_email)
                    .transpose()?,
            },
            _ => {
                return Err(StoreError::message(
                    "decode user: neither a password nor a federated account",
                ));
            }
        };
        Ok(User {
            id: parse(&self.user_id, "decode user")?,
            login,
            created_at: Timestamp::from_unix_millis(self.created_at),
            deleting: self.deleting,
        })
    }
}

const USER_ROW: &str = "user";
const EMAIL_ROW: &str = "email";
const IDENTITY_ROW: &str = "identity";

fn email_pk(email: &Email) -> String {
    format!("email_{}", digest(email.as_str()))
}

fn identity_pk(identity: &FederatedIdentity) -> String {
    format!("identity_{}", identity.key())
}

/// The entity that finds the account by what it signs in with.
fn claim(user: &User) -> (String, &'static str) {
    match &user.login {
        Login::Password { email, .. } => (email_pk(email), EMAIL_ROW),
        Login::Federated { identity, .. } => (identity_pk(identity), IDENTITY_ROW),
    }
}

impl TableStore {
    async fn read_user(&self, pk: &str, rk: &str) -> Result<Option<User>, StoreError> {
        self.table
            .get::<UserDoc>(pk, rk, "get user")
            .await?
            .map(|stored| stored.value.user())
            .transpose()
    }
}

#[async_trait]
impl UserStore for TableStore {
    /// The user entity first, then the claim (email or identity), each insert-only.
    /// If the claim is taken, the user entity is removed again; a crash in between
    /// leaves an entity nothing points to (no claim, so no login finds it).
    async fn create(&self, user: &User) -> Result<(), CreateUserError> {
        let doc = UserDoc::of(user);
        let pk = user_pk(user.id);
        if self
            .table
            .insert(&pk, USER_ROW, &doc, "create user")
            .await?
            == Write::Conflict
        {
            return Err(StoreError::message("user id already taken").into());
        }
        let (claim_pk, claim_rk) = claim(user);
        match self
            .table
            .insert(&claim_pk, claim_rk, &doc, "claim login")
            .await?
        {
            Write::Done => Ok(()),
            Write::Conflict => {
                self.table
                    .delete(&pk, USER_ROW, None, "undo user create")
                    .await?;
                Err(match user.login {
                    Login::Password { .. } => CreateUserError::EmailTaken,
                    Login::Federated { .. } => CreateUserError::IdentityTaken,
                })
            }
        }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.read_user(&email_pk(email), EMAIL_ROW).await
    }

    async fn find_by_identity(
        &self,
        identity: &FederatedIdentity,
    ) -> Result<Option<User>, StoreError> {
        self.read_user(&identity_pk(identity), IDENTITY_ROW).await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read_user(&user_pk(id), USER_ROW).await
    }

    /// The email claim (which login reads) first, then the user entity, each only
    /// while it still holds `expected`.
    async fn replace_password_hash(
        &self,
        id: UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(false);
        };
        let mut replaced = false;
        let (claim_pk, claim_rk) = claim(&user);
        for (pk, rk) in [(claim_pk, claim_rk), (user_pk(id), USER_ROW)] {
            let outcome = self
                .modify::<UserDoc, _>(&pk, rk, "replace password hash", |doc| {
                    (doc.password_hash.as_deref() == Some(expected)).then(|| UserDoc {
                        password_hash: Some(new_hash.to_owned()),
                        ..doc.clone()
                    })
                })
                .await?;
            replaced |= matches!(outcome, Modified::Changed(_));
        }
        Ok(replaced)
    }

    /// Both the user entity and the claim carry the flag: login reads the claim,
    /// session creation checks the user entity.
    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(());
        };
        let (claim_pk, claim_rk) = claim(&user);
        for (pk, rk) in [(user_pk(id), USER_ROW), (claim_pk, claim_rk)] {
            let marked = self
                .modify::<UserDoc, _>(&pk, rk, "mark user deleting", |doc| {
                    (!doc.deleting).then(|| UserDoc {
                        deleting: true,
                        ..doc.clone()
                    })
                })
                .await?;
            if let Modified::Missing = marked {
                tracing::debug!("user entity already gone while marking it deleting");
            }
        }
        Ok(())
    }

    async fn delete(&self, id: UserId) -> Result<(), StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(());
        };
        let (claim_pk, claim_rk) = claim(&user);
        self.table
            .delete(&claim_pk, claim_rk, None, "delete user")
            .await?;
        self.table
            .delete(&user_pk(id), USER_ROW, None, "delete user")
            .await
            .map(drop)
    }
}
