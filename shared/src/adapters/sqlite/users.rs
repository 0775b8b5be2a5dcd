use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, is_unique_violation, parse_column};
use crate::domain::{Email, Timestamp, UserId};
use crate::ports::{CreateUserError, StoreError, User, UserStore};

const COLUMNS: &str = "user_id, email, password_hash, created_at, deleting";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let email: String = row.get(1)?;
    Ok(User {
        id: parse_column(row.get(0)?, 0)?,
        email: Email::parse(&email).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?,
        password_hash: row.get(2)?,
        created_at: Timestamp::from_unix_millis(row.get(3)?),
        deleting: row.get(4)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create(&self, user: &User) -> Result<(), CreateUserError> {
        let user = user.clone();
        let inserted = self
            .call("insert user", move |conn| {
                match conn.execute(
                    &format!("INSERT INTO users ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
                    params![
                        user.id.to_string(),
                        user.email.as_str(),
                        user.password_hash,
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
        if inserted {
            Ok(())
        } else {
            Err(CreateUserError::EmailTaken)
        }
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_owned();
        self.call("find user by email", move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
                [email],
                user_from_row,
            )
            .optional()
        })
        .await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.call("find user by id", move |conn| {
            conn.query_row(
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
            conn.execute(
                "UPDATE users SET password_hash = ?1 WHERE user_id = ?2 AND password_hash = ?3",
                [new_hash, id.to_string(), expected],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        self.call("mark user deleting", move |conn| {
            conn.execute(
                "UPDATE users SET deleting = 1 WHERE user_id = ?1",
                [id.to_string()],
            )
            .map(drop)
        })
        .await
    }

    async fn delete(&self, id: UserId) -> Result<(), StoreError> {
        self.call("delete user", move |conn| {
            conn.execute("DELETE FROM users WHERE user_id = ?1", [id.to_string()])
                .map(drop)
        })
        .await
    }
}
