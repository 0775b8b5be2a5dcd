use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::SessionApi;
use super::extract::{Caller, IfMatch, JsonValue};
use crate::domain::{Session, SessionId, Timestamp, UserId};
use crate::error::Error;
use crate::sessions::SessionService;

#[derive(Serialize)]
struct SessionBody<'a> {
    session_id: SessionId,
    user_id: UserId,
    data: &'a Map<String, Value>,
    version: u64,
    created_at: Timestamp,
    expires_at: Timestamp,
}

fn session_response(service: &SessionService, session: &Session) -> Response {
    let body = SessionBody {
        session_id: session.id,
        user_id: session.user_id,
        data: session.data.as_map(),
        version: session.version.get(),
        created_at: session.created_at,
        expires_at: session.expires_at(service.policy()),
    };
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&session.version.etag()) {
        headers.insert(header::ETAG, etag);
    }
    // Session state is private to its owner: no shared cache may keep it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

pub(super) async fn get_session(
    State(state): State<SessionApi>,
    Caller(caller): Caller,
) -> Result<Response, Error> {
    // Authentication already read the session and checked that it is active.
    Ok(session_response(&state.sessions, &caller.session))
}

pub(super) async fn replace_data(
    State(state): State<SessionApi>,
    Caller(caller): Caller,
    IfMatch(precondition): IfMatch,
    JsonValue(body): JsonValue,
) -> Result<Response, Error> {
    let session = state.sessions.replace(caller, body, &precondition).await?;
    Ok(session_response(&state.sessions, &session))
}

pub(super) async fn patch_data(
    State(state): State<SessionApi>,
    Caller(caller): Caller,
    IfMatch(precondition): IfMatch,
    JsonValue(patch): JsonValue,
) -> Result<Response, Error> {
    let session = state
        .sessions
        .merge_patch(caller, patch, &precondition)
        .await?;
    Ok(session_response(&state.sessions, &session))
}

pub(super) async fn clear_data(
    State(state): State<SessionApi>,
    Caller(caller): Caller,
    IfMatch(precondition): IfMatch,
) -> Result<impl IntoResponse, Error> {
    let session = state.sessions.clear(caller, &precondition).await?;
    let etag = HeaderValue::from_str(&session.version.etag())
        .map_err(|e| Error::internal(format!("etag header: {e}")))?;
    Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag)]))
}
