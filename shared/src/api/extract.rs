//! Extractors that turn raw requests into parsed input or a problem+json error,
//! so no handler ever sees a malformed request.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Authenticated, Authenticator};
use crate::domain::Version;
use crate::error::Error;
use crate::sessions::Precondition;

/// Any JSON body. Syntax errors → 400, wrong content type → 415, over the host's
/// body limit → 413.
pub(super) struct JsonValue(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A JSON object deserialised into `T`; anything else (an array, a missing field,
/// a wrong type) → 400. Checking for an object first matters: serde's derived
/// structs would otherwise accept `["email", "password"]`.
pub(super) struct JsonObject<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonObject<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonValue(value) = JsonValue::from_request(req, state).await?;
        if !value.is_object() {
            return Err(Error::invalid("the request body must be a JSON object"));
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| Error::invalid(format!("invalid request body: {e}")))
    }
}

fn json_rejection(rejection: JsonRejection) -> Error {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge("the request body is too large".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        ),
        _ => Error::InvalidRequest(rejection.body_text()),
    }
}

/// The authenticated caller: a valid `Authorization: Bearer` access token whose
/// session is still active.
pub(super) struct Caller(pub Authenticated);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(Error::Unauthenticated(
                "an Authorization: Bearer token is required",
            ))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, token)| {
                scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
            })
            .map(|(_, token)| token.trim())
            .ok_or(Error::Unauthenticated(
                "the Authorization header must be 'Bearer <token>'",
            ))?;
        Authenticator::from_ref(state)
            .authenticate(token)
            .await
            .map(Caller)
    }
}

/// `If-Match` as a [`Precondition`]. Weak tags never match (RFC 9110 strong
/// comparison); a value that is not a list of entity tags → 400.
pub(super) struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(Precondition::None));
        };
        let text = value
            .to_str()
            .map_err(|_| Error::invalid("If-Match must be ASCII"))?
            .trim();
        if text == "*" {
            return Ok(Self(Precondition::None));
        }
        parse_etag_list(text).map(|v| Self(Precondition::AnyOf(v)))
    }
}

fn parse_etag_list(text: &str) -> Result<Vec<Version>, Error> {
    let bad = || Error::invalid("If-Match must be a list of entity tags such as \"3\"");
    let mut versions = Vec::new();
    for tag in text.split(',').map(str::trim) {
        let (weak, quoted) = match tag.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        let inner = quoted
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|t| !t.contains('"'))
            .ok_or_else(bad)?;
        if weak {
            continue;
        }
        // A well-formed tag that is not one of our versions simply never matches.
        if let Ok(n) = inner.parse::<u64>() {
            versions.push(Version::new(n));
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_ignores_weak_or_foreign_tags() {
        assert_eq!(parse_etag_list("\"3\"").unwrap(), vec![Version::new(3)]);
        assert_eq!(
            parse_etag_list("\"3\", W/\"4\", \"abc\", \"5\"").unwrap(),
            vec![Version::new(3), Version::new(5)]
        );
        assert!(parse_etag_list("W/\"4\"").unwrap().is_empty());
    }

    #[test]
    fn rejects_unquoted_values() {
        assert!(parse_etag_list("3").is_err());
        assert!(parse_etag_list("\"3").is_err());
        assert!(parse_etag_list("").is_err());
    }
}
