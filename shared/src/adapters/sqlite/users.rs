use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::{CachedStatements, SqliteStore, is_unique_violation, parse_column};
use crate::domain::{Email, FederatedIdentity, Timestamp, UserId};
use crate::ports::{CreateUserError, Login, StoreError, User, UserStore};

const COLUMNS: &str =
    "user_id, email, password_hash, issuer, subject, verified_email, created_at, deleting";

fn bad_column(column: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e))
}

fn email_column(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<Email>> {
    row.get::<_, Option<String>>(column)?
        .map(|e| Email::parse(&e).map_err(|err| bad_column(column, err)))
        .transpose()
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let login = match (email_column(row, 1)?, row.get::<_, Option<String>>(2)?) {
        (Some(email), Some(password_hash)) => Login::Password {
            email,
            password_hash,
        },
        // The table's CHECK guarantees the other kind has both parts.
        _ => Login::Federated {
            identity: FederatedIdentity::new(&row.get::<_, String>(3)?, &row.get::<_, String>(4)?)
                .map_err(|e| bad_column(3, e))?,
            email: email_column(row, 5)?,
        },
    };
    Ok(User {
        id: parse_column(row.get(0)?, 0)?,
        login,
        created_at: Timestamp::from_unix_millis(row.get(6)?),
        deleting: row.get(7)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create(&self, user: &User) -> Result<(), CreateUserError> {
        let user = user.clone();
        let taken = match user.login {
            Login::Password { .. } => CreateUserError::EmailTaken,
            Login::Federated { .. } => CreateUserError::IdentityTaken,
        };
        let inserted = self
            .call("insert user", move |conn| {
                let (email, hash, issuer, subject, verified) = match &user.login {
                    Login::Password {
                        email,
                        password_hash,
                    } => (
                        Some(email.as_str()),
                        Some(password_hash.as_str()),
                        None,
                        None,
                        None,
                    ),
                    Login::Federated { identity, email } => (
                        None,
                        None,
                        Some(identity.issuer()),
                        Some(identity.subject()),
                        email.as_ref().map(Email::as_str),
                    ),
                };
                match conn.cached_execute(
                    &format!(
                        "INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        user.id.to_string(),
                        email,
                        hash,
                        issuer,
                        subject,
                        verified,
                        user.created_at.unix_millis(),
                        user.deleting
                    ],
                ) {
                    Ok(_) => Ok(true),
                    Err(e) if is_unique_violation(&e) => Ok(false),
                    Err(e) => Err(e),
                }
            })
            .await?;
        if inserted { Ok(()) } else { Err(taken) }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_owned();
        self.read("find user by email", move |conn| {
            conn.cached_query_row(
                &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
                [email],
                user_from_row,
            )
            .optional()
        })
        .await
    }

    async fn find_by_identity(
        &self,
        identity: &FederatedIdentity,
    ) -> Result<Option<User>, StoreError> {
        let identity = identity.clone();
        self.read("find user by identity", move |conn| {
            conn.cached_query_row(
                &format!("SELECT {COLUMNS} FROM users WHERE issuer = ?1 AND subject = ?2"),
                [identity.issuer(), identity.subject()],
                user_from_row,
            )
            .optional()
        })
        .await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read("find user by id", move |conn| {
            conn.cached_query_row(
                &format!("SELECT {COLUMNS} FROM users WHERE user_id = ?1"),
                [id.to_string()],
                user_from_row,
            )
            .optional()
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        expected: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let (expected, new_hash) = (expected.to_owned(), new_hash.to_owned());
        self.call("replace password hash", move |conn| {
            conn.cached_execute(
                "UPDATE users SET password_hash = ?1 WHERE user_id = ?2 AND password_hash = ?3",
                [new_hash, id.to_string(), expected],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        self.call("mark user deleting", move |conn| {
            conn.cached_execute(
                "UPDATE users SET deleting = 1 WHERE user_id = ?1",
                [id.to_string()],
            )
            .map(drop)
        })
        .await
    }

    async fn delete(&self, id: UserId) -> Result<(), StoreError> {
        self.call("delete user", move |conn| {
            conn.cached_execute("DELETE FROM users WHERE user_id = ?1", [id.to_string()])
                .map(drop)
        })
        .await
    }
}
