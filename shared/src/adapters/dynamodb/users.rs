use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::item::{Item, get_parsed, get_s, get_time, key, s, time};
use super::owned::owned_key;
use super::transactions::{cancellation_code, put_if_absent, transact};
use crate::domain::{Email, FederatedIdentity, UserId};
use crate::ports::{CreateUserError, Login, StoreError, User, UserStore};

fn user_key(id: UserId) -> Item {
    owned_key(id, "USER")
}

fn email_key(email: &Email) -> Item {
    key(format!("EMAIL#{}", email.as_str()), "EMAIL")
}

fn identity_key(identity: &FederatedIdentity) -> Item {
    key(format!("IDENTITY#{}", identity.key()), "IDENTITY")
}

/// The item that finds the account by what it signs in with.
fn claim_key(user: &User) -> Item {
    match &user.login {
        Login::Password { email, .. } => email_key(email),
        Login::Federated { identity, .. } => identity_key(identity),
    }
}

fn attributes(user: &User, mut item: Item) -> Item {
    item.insert("user_id".into(), s(user.id.to_string()));
    match &user.login {
        Login::Password {
            email,
            password_hash,
        } => {
            item.insert("email".into(), s(email.as_str()));
            item.insert("password_hash".into(), s(password_hash));
        }
        Login::Federated { identity, email } => {
            item.insert("issuer".into(), s(identity.issuer()));
            item.insert("subject".into(), s(identity.subject()));
            if let Some(email) = email {
                item.insert("verified_email".into(), s(email.as_str()));
            }
        }
    }
    item.insert("created_at".into(), time(user.created_at));
    item
}

fn decode_email(text: &str) -> Result<Email, StoreError> {
    Email::parse(text).map_err(|e| StoreError::new("decode dynamodb item", e))
}

fn user_from(item: &Item) -> Result<User, StoreError> {
    let login = if item.contains_key("password_hash") {
        Login::Password {
            email: decode_email(get_s(item, "email")?)?,
            password_hash: get_s(item, "password_hash")?.to_owned(),
        }
    } else {
        Login::Federated {
            identity: FederatedIdentity::new(get_s(item, "issuer")?, get_s(item, "subject")?)
                .map_err(|e| StoreError::new("decode dynamodb item", e))?,
            email: match item.get("verified_email") {
                Some(_) => Some(decode_email(get_s(item, "verified_email")?)?),
                None => None,
            },
        }
    };
    Ok(User {
        id: get_parsed(item, "user_id")?,
        login,
        created_at: get_time(item, "created_at")?,
        deleting: matches!(item.get("deleting"), Some(AttributeValue::Bool(true))),
    })
}

impl DynamoStore {
    async fn get_user_item(&self, key: Item) -> Result<Option<User>, StoreError> {
        self.read(key, "get user")
            .await?
            .as_ref()
            .map(user_from)
            .transpose()
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    /// The user item and the claim (its email or identity) are written in one
    /// transaction, each on condition that it does not exist yet: the claim is
    /// unique without a GSI (GSI reads are only eventually consistent).
    async fn create(&self, user: &User) -> Result<(), CreateUserError> {
        let result = transact(
            self.client
                .transact_write_items()
                .transact_items(put_if_absent(
                    self.table(),
                    attributes(user, user_key(user.id)),
                )?)
                .transact_items(put_if_absent(
                    self.table(),
                    attributes(user, claim_key(user)),
                )?),
        )
        .await;
        if cancellation_code(&result, 1) == Some("ConditionalCheckFailed") {
            return Err(match user.login {
                Login::Password { .. } => CreateUserError::EmailTaken,
                Login::Federated { .. } => CreateUserError::IdentityTaken,
            });
        }
        result
            .map(|_| ())
            .map_err(|e| StoreError::new("create user", e).into())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.get_user_item(email_key(email)).await
    }

    async fn find_by_identity(
        &self,
        identity: &FederatedIdentity,
    ) -> Result<Option<User>, StoreError> {
        self.get_user_item(identity_key(identity)).await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get_user_item(user_key(id)).await
    }

    /// The email claim (which login reads) first, then the user item, each on
    /// condition that it still holds `expected`. Should the second lose a race, the
    /// two copies hold different hashes of the same password, which both verify.
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
        for key in [claim_key(&user), user_key(id)] {
            let result = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(key))
                .update_expression("SET password_hash = :new")
                .condition_expression("password_hash = :expected")
                .expression_attribute_values(":new", s(new_hash))
                .expression_attribute_values(":expected", s(expected))
                .send()
                .await;
            match result {
                Ok(_) => replaced = true,
                Err(e) if super::is_condition_failure(&e) => {}
                Err(e) => return Err(StoreError::new("replace password hash", e)),
            }
        }
        Ok(replaced)
    }

    /// Both the user item and the claim carry the flag: login reads the claim,
    /// session creation checks the user item.
    async fn begin_deletion(&self, id: UserId) -> Result<(), StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(());
        };
        for key in [user_key(id), claim_key(&user)] {
            let result = self
                .client
                .update_item()
                .table_name(self.table())
                .set_key(Some(key))
                .update_expression("SET deleting = :true")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(StoreError::new("mark user deleting", e)),
            }
        }
        Ok(())
    }

    async fn delete(&self, id: UserId) -> Result<(), StoreError> {
        let Some(user) = self.find_by_id(id).await? else {
            return Ok(());
        };
        self.delete_keys([claim_key(&user), user_key(id)], "delete user")
            .await
    }
}
