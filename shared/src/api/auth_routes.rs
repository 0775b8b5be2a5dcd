use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AuthApi;
use super::extract::{Caller, Client, JsonBody};
use super::refresh_cookie::{self, PresentedRefresh, RefreshTransport};
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
    transport: RefreshTransport,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Response, Error> {
    let tokens = state.auth.login(&body.email, body.password, client).await?;
    token_response(tokens, transport)
}

#[derive(Deserialize)]
pub(super) struct FederatedRequest {
    id_token: String,
}

pub(super) async fn federated_login(
    State(state): State<AuthApi>,
    Client(client): Client,
    transport: RefreshTransport,
    JsonBody(body): JsonBody<FederatedRequest>,
) -> Result<Response, Error> {
    let tokens = state.auth.federated_login(&body.id_token, client).await?;
    token_response(tokens, transport)
}

pub(super) async fn refresh(
    State(state): State<AuthApi>,
    presented: PresentedRefresh,
) -> Result<Response, Error> {
    let tokens = state.auth.refresh(&presented.token).await?;
    token_response(tokens, presented.transport)
}

/// Also tells a browser to forget the refresh cookie, whichever transport the
/// login used: clearing a cookie that is not there costs nothing.
pub(super) async fn logout(
    State(state): State<AuthApi>,
    Caller(caller): Caller,
) -> Result<Response, Error> {
    state.auth.logout(caller).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, refresh_cookie::clear_cookie()?)],
    )
        .into_response())
}

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    session_id: SessionId,
}

/// RFC 6749 §5.1: token responses must not be cached.
fn token_response(tokens: IssuedTokens, transport: RefreshTransport) -> Result<Response, Error> {
    let in_body = transport == RefreshTransport::Body;
    let body = TokenBody {
        access_token: &tokens.access_token,
        token_type: "Bearer",
        expires_in: tokens.expires_in.as_secs(),
        refresh_token: in_body.then(|| tokens.refresh_token.expose()),
        session_id: tokens.session_id,
    };
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !in_body {
        headers.insert(
            header::SET_COOKIE,
            refresh_cookie::set_cookie(tokens.refresh_token.expose(), tokens.refresh_expires_in)?,
        );
    }
    Ok(response)
}
