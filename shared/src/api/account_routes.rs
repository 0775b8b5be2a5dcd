use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AccountApi;
use super::extract::{Caller, Client, JsonBody};
use crate::domain::{DeletionId, DeletionStatus, Timestamp};
use crate::error::Error;

#[derive(Deserialize)]
pub(super) struct Confirm {
    deletion_id: String,
    code: String,
}

/// The password again (or, for a federated account, a fresh ID token): a stolen
/// access token alone must not erase an account.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Reauthenticate {
    Password { password: String },
    IdToken { id_token: String },
}

/// `202` to `DELETE /account`.
#[derive(Serialize)]
pub(super) struct Requested {
    deletion_id: DeletionId,
    status: DeletionStatus,
    expires_at: Timestamp,
}

/// `202` to a confirmation.
#[derive(Serialize)]
pub(super) struct Confirmed {
    status: &'static str,
}

/// `GET /account/deletion/{id}`.
#[derive(Serialize)]
pub(super) struct Status {
    deletion_id: DeletionId,
    status: DeletionStatus,
}

/// An id that is not one of ours names nothing: 404, as an unknown one does.
fn deletion_id(text: &str) -> Result<DeletionId, Error> {
    text.parse().map_err(|_| Error::NotFound)
}

pub(super) async fn request_deletion(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    Client(client): Client,
    JsonBody(reauth): JsonBody<Reauthenticate>,
) -> Result<(StatusCode, Json<Requested>), Error> {
    match reauth {
        Reauthenticate::Password { password } => {
            api.credentials
                .by_id(caller.user_id, password, client)
                .await?
        }
        Reauthenticate::IdToken { id_token } => {
            api.credentials
                .by_id_and_id_token(caller.user_id, &id_token, client)
                .await?
        }
    };
    let deletion = api.deletions.request(caller.user_id).await?;
    let body = Requested {
        deletion_id: deletion.id,
        status: deletion.status,
        expires_at: deletion.expires_at,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

pub(super) async fn confirm_deletion(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    JsonBody(confirm): JsonBody<Confirm>,
) -> Result<(StatusCode, Json<Confirmed>), Error> {
    let id = deletion_id(&confirm.deletion_id)?;
    api.deletions
        .confirm(caller.user_id, id, &confirm.code)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Confirmed {
            status: "confirmed",
        }),
    ))
}

pub(super) async fn deletion_status(
    State(api): State<AccountApi>,
    Caller(caller): Caller,
    Path(text): Path<String>,
) -> Result<Json<Status>, Error> {
    let deletion = api
        .deletions
        .status(caller.user_id, deletion_id(&text)?)
        .await?;
    Ok(Json(Status {
        deletion_id: deletion.id,
        status: deletion.status,
    }))
}
