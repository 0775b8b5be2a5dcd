//! RFC 9457 problem details: the only place that turns [`Error`] into a status code.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    type_: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
}

const PROBLEM_JSON: HeaderValue = HeaderValue::from_static("application/problem+json");

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, type_, title) = classify(&self);
        let detail = match &self {
            Error::Unavailable(source) => {
                tracing::error!(error = %source, cause = ?std::error::Error::source(source), "backend failure");
                "A backend is temporarily unavailable; retry later.".to_owned()
            }
            Error::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                "An unexpected error occurred.".to_owned()
            }
            other => other.to_string(),
        };
        let body = Problem {
            type_,
            title,
            status: status.as_u16(),
            detail,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, PROBLEM_JSON);
        match &self {
            Error::Unauthenticated(_)
            | Error::InvalidCredentials
            | Error::InvalidIdToken
            | Error::InvalidRefreshToken => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after } => {
                // Round up: telling a client to come back a moment early only earns another 429.
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Error::Contention | Error::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            }
            _ => {}
        }
        response
    }
}

fn classify(error: &Error) -> (StatusCode, &'static str, &'static str) {
    use StatusCode as S;
    match error {
        Error::InvalidRequest(_) => (
            S::BAD_REQUEST,
            "/problems/invalid-request",
            "Invalid request",
        ),
        Error::UnsupportedMediaType(_) => (
            S::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
        ),
        Error::PayloadTooLarge(_) => (
            S::PAYLOAD_TOO_LARGE,
            "/problems/payload-too-large",
            "Payload too large",
        ),
        Error::InvalidCredentials | Error::InvalidIdToken => (
            S::UNAUTHORIZED,
            "/problems/invalid-credentials",
            "Invalid credentials",
        ),
        Error::TooManyAttempts { .. } => (
            S::TOO_MANY_REQUESTS,
            "/problems/too-many-attempts",
            "Too many failed attempts",
        ),
        Error::EmailTaken => (
            S::CONFLICT,
            "/problems/email-taken",
            "Email already registered",
        ),
        Error::Unauthenticated(_) => (
            S::UNAUTHORIZED,
            "/problems/unauthenticated",
            "Authentication required",
        ),
        Error::InvalidRefreshToken => (
            S::UNAUTHORIZED,
            "/problems/invalid-refresh-token",
            "Invalid refresh token",
        ),
        Error::PreconditionFailed => (
            S::PRECONDITION_FAILED,
            "/problems/precondition-failed",
            "Precondition failed",
        ),
        Error::NotFound => (S::NOT_FOUND, "/problems/not-found", "Not found"),
        Error::Forbidden(_) => (S::FORBIDDEN, "/problems/forbidden", "Forbidden"),
        Error::Conflict(_) => (S::CONFLICT, "/problems/conflict", "Conflict"),
        Error::Unprocessable(_) => (
            S::UNPROCESSABLE_ENTITY,
            "/problems/idempotency-key-reused",
            "Idempotency-Key reused",
        ),
        Error::MethodNotAllowed => (
            S::METHOD_NOT_ALLOWED,
            "/problems/method-not-allowed",
            "Method not allowed",
        ),
        Error::Contention => (
            S::SERVICE_UNAVAILABLE,
            "/problems/contention",
            "Too much contention",
        ),
        Error::Unavailable(_) | Error::Overloaded { .. } => (
            S::SERVICE_UNAVAILABLE,
            "/problems/service-unavailable",
            "Service unavailable",
        ),
        Error::Internal(_) => (
            S::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
        ),
    }
}

pub(super) async fn not_found() -> Error {
    Error::NotFound
}

pub(super) async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}
