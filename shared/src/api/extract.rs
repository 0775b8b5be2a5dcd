//! Extractors that turn raw requests into parsed input or a problem+json error,
//! so no handler ever sees a malformed request.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Authenticated, Authenticator};
use crate::domain::{ClientAddress, Version};
use crate::error::Error;
use crate::sessions::Precondition;

/// Nesting deeper than this is refused on every body: whatever a host accepts it
/// must be able to read back, and the stores wrap documents in a few levels of
/// their own (serde_json stops at 128).
pub const MAX_JSON_DEPTH: usize = 32;

/// Any JSON body. Syntax errors (including bytes that are not UTF-8), nesting
/// deeper than [`MAX_JSON_DEPTH`] and an empty body → 400, a non-JSON content type
/// → 415, over the host's body limit → 413.
pub struct JsonValue(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json_content_type(req.headers());
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        // `Bytes` honours the router's `DefaultBodyLimit`.
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge("the request body is too large".into())
            } else {
                Error::invalid("the request body could not be read")
            }
        })?;
        if bytes.is_empty() && !json_type {
            return Err(Error::invalid("a JSON request body is required"));
        }
        if !json_type {
            return Err(Error::UnsupportedMediaType(if has_type {
                "the request body must be JSON (Content-Type: application/json)".into()
            } else {
                "the request has no Content-Type; send application/json".into()
            }));
        }
        parse_json(&bytes).map(Self)
    }
}

/// Parses a JSON document and refuses nesting deeper than [`MAX_JSON_DEPTH`].
pub fn parse_json(bytes: &[u8]) -> Result<Value, Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid(format!("the request body is not valid JSON: {e}")))?;
    if depth(&value) > MAX_JSON_DEPTH {
        return Err(Error::invalid(format!(
            "the request body is nested more than {MAX_JSON_DEPTH} levels deep"
        )));
    }
    Ok(value)
}

/// Levels of arrays and objects (a scalar is 0, `{}` is 1). Iterative, so a
/// document as deep as serde_json allows cannot exhaust the stack.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, above)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        let level = above + 1;
        deepest = deepest.max(level);
        stack.extend(children.map(|child| (child, level)));
    }
    deepest
}

/// `application/json`, or any `application/*+json` (merge patches), parameters
/// such as `charset` allowed.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The client's address as the host put it in the request's extensions
/// (`ClientAddress::Unknown` where the host could not tell).
pub struct Client(pub ClientAddress);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ClientAddress>()
                .copied()
                .unwrap_or_default(),
        ))
    }
}

/// A JSON object deserialised into `T`; anything else (an array, a missing field,
/// a wrong type) → 400. Checking for an object first matters: serde's derived
/// structs would otherwise accept `["email", "password"]`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
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

/// The authenticated caller: a valid `Authorization: Bearer` access token whose
/// session is still active.
pub struct Caller(pub Authenticated);

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
pub struct IfMatch(pub Precondition);

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
    fn depth_counts_containers() {
        assert_eq!(depth(&serde_json::json!(1)), 0);
        assert_eq!(depth(&serde_json::json!({})), 1);
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": []}]})), 4);
        let deep = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(parse_json(deep.as_bytes()).is_ok());
        let deeper = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(matches!(
            parse_json(deeper.as_bytes()),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            parse_json(b"\xff\xfe{"),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn rejects_unquoted_values() {
        assert!(parse_etag_list("3").is_err());
        assert!(parse_etag_list("\"3").is_err());
        assert!(parse_etag_list("").is_err());
    }
}
