use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AuthApi;
use super::extract::{Caller, Client, JsonBody};
use crate::auth::IssuedTokens;
use crate::domain::{Email, Password, SessionId, UserId};
use crate::error::Error;

#[derive(Deserialize)]
pub(super) struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct Registered {
    user_id: UserId,
}

pub(super) async fn register(
    State(state): State<AuthApi>,
    Client(client): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<impl IntoResponse, Error> {
    let email = Email::parse(&body.email).map_err(Error::invalid)?;
    let password = Password::parse(body.password).map_err(Error::invalid)?;
    let user_id = state.auth.register(email, password, client).await?;
    Ok((StatusCode::CREATED, Json(Registered { user_id })))
}

pub(super) async fn login(
    State(state): State<AuthApi>,
    Client(client): Client,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Response, Error> {
    let tokens = state.auth.login(&body.email, body.password, client).await?;
    Ok(token_response(tokens))
}

#[derive(Deserialize)]
pub(super) struct FederatedRequest {
    id_token: String,
}

pub(super) async fn federated_login(
    State(state): State<AuthApi>,
    Client(client): Client,
    JsonBody(body): JsonBody<FederatedRequest>,
) -> Result<Response, Error> {
    let tokens = state.auth.federated_login(&body.id_token, client).await?;
    Ok(token_response(tokens))
}

#[derive(Deserialize)]
pub(super) struct RefreshRequest {
    refresh_token: String,
}

pub(super) async fn refresh(
    State(state): State<AuthApi>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Response, Error> {
    let tokens = state.auth.refresh(&body.refresh_token).await?;
    Ok(token_response(tokens))
}

pub(super) async fn logout(
    State(state): State<AuthApi>,
    Caller(caller): Caller,
) -> Result<StatusCode, Error> {
    state.auth.logout(caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
    session_id: SessionId,
}

/// RFC 6749 §5.1: token responses must not be cached.
fn token_response(tokens: IssuedTokens) -> Response {
    let body = TokenBody {
        access_token: &tokens.access_token,
        token_type: "Bearer",
        expires_in: tokens.expires_in.as_secs(),
        refresh_token: tokens.refresh_token.expose(),
        session_id: tokens.session_id,
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
