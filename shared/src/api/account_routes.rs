use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::AccountApi;
use super::extract::{Caller, Client, JsonBody};
use crate::error::Error;

#[derive(Deserialize)]
pub(super) struct Confirm {
    deletion_id: String,
    code: String,
}

/// The password again: a stolen access token alone must not erase an account.
#[derive(Deserialize)]
pub(super) struct Reauthenticate {
    password: String,
}

pub(super) async fn request_deletion(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    Client(client): Client,
    JsonBody(reauth): JsonBody<Reauthenticate>,
) -> Result<(StatusCode, Json<Value>), Error> {
    api.credentials
        .by_id(caller.user_id, reauth.password, client)
        .await?;
    let body = api.deletions.request(caller.user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

pub(super) async fn confirm_deletion(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    JsonBody(confirm): JsonBody<Confirm>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let body = api
        .deletions
        .confirm(caller.user_id, &confirm.deletion_id, &confirm.code)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(body)))
}

pub(super) async fn deletion_status(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    Path(deletion_id): Path<String>,
) -> Result<Json<Value>, Error> {
    api.deletions
        .status(caller.user_id, &deletion_id)
        .await
        .map(Json)
}
