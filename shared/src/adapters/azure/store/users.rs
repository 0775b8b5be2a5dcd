use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Modified, TableStore, digest, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{Email, Timestamp, UserId};
use crate::ports::{CreateUserError, StoreError, User, UserStore};

#[derive(Clone, Serialize, Deserialize)]
struct UserDoc {
    user_id: String,
    email: String,
    password_hash: String,
    created_at: i64,
    #[serde(default)]
    deleting: bool,
}

impl UserDoc {
    fn of(user: &User) -> Self {
        Self {
            user_id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            password_hash: user.password_hash.clone(),
            created_at: user.created_at.unix_millis(),
            deleting: user.deleting,
        }
    }

    fn user(self) -> Result<User, StoreError> {
        Ok(User {
            id: parse(&self.user_id, "decode user")?,
            email: Email::parse(&self.email).map_err(|e| StoreError::new("decode user", e))?,
            password_hash: self.password_hash,
            created_at: Timestamp::from_unix_millis(self.created_at),
            deleting: self.deleting,
        })
    }
}

const USER_ROW: &str = "user";
const EMAIL_ROW: &str = "email";

fn email_pk(email: &Email) -> String {
    format!("email_{}", digest(email.as_str()))
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
    /// The user entity first, then the email claim, each insert-only. If the email
    /// is taken, the user entity is removed again; a crash in between leaves an
    /// entity nothing points to (no claim, so no login finds it).
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
        match self
            .table
            .insert(&email_pk(&user.email), EMAIL_ROW, &doc, "claim email")
            .await?
        {
            Write::Done => Ok(()),
            Write::Conflict => {
                self.table
                    .delete(&pk, USER_ROW, None, "undo user create")
                    .await?;
                Err(CreateUserError::EmailTaken)
            }
        }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.read_user(&email_pk(email), EMAIL_ROW).await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read_user(&user_pk(id), USER_ROW).await
    }

    /// Both the user entity and the email claim carry the flag: login reads the
    /// claim, session creation checks the user entity.
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
        for (pk, rk) in [(email_pk(&user.email), EMAIL_ROW), (user_pk(id), USER_ROW)] {
            let outcome = self
                .modify::<UserDoc, _>(&pk, rk, "replace password hash", |doc| {
                    (doc.password_hash == expected).then(|| UserDoc {
                        password_hash: new_hash.to_owned(),
                        ..doc.clone()
                    })
                })
                .await?;
            replaced |= matches!(outcome, Modified::Changed(_));
        }
        Ok(replaced)
    }

    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(());
        };
        for (pk, rk) in [(user_pk(id), USER_ROW), (email_pk(&user.email), EMAIL_ROW)] {
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
        self.table
            .delete(&email_pk(&user.email), EMAIL_ROW, None, "delete user")
            .await?;
        self.table
            .delete(&user_pk(id), USER_ROW, None, "delete user")
            .await
            .map(drop)
    }
}
