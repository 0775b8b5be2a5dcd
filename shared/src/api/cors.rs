//! CORS for browser apps on other origins (API.md, "Browser clients"): only the
//! origins the operator lists, always with credentials, never `*`.
//!
//! Written here rather than with `tower_http::cors::CorsLayer` because the contract
//! asks for what that layer does not do: it answers every preflight (200, with
//! `Access-Control-Allow-Credentials` even for an origin it does not allow), where
//! an unlisted origin's preflight must be refused 403 without any CORS header and a
//! listed one's answered 204.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;

/// The methods a browser may use cross-origin: every one the contract serves.
const ALLOWED_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE");

/// The request headers the contract reads.
const ALLOWED_HEADERS: HeaderValue = HeaderValue::from_static(
    "Authorization, Content-Type, If-Match, Idempotency-Key, X-Request-Id, X-Refresh-Token-Transport",
);

/// The response headers a page needs to read (versions, where a job is, when to retry).
const EXPOSED_HEADERS: HeaderValue =
    HeaderValue::from_static("ETag, Location, Retry-After, X-Request-Id");

/// How long a browser may reuse a preflight answer: ten minutes, so a changed
/// allowlist reaches browsers soon.
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");

/// The exact origins allowed to call the API from a browser (`SKIFF_CORS_ORIGINS`).
/// Empty means no CORS at all, as a deployment without browser clients on other
/// origins wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsOrigins(Arc<[String]>);

/// Why an allowlist entry was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorsOriginError {
    /// `*` or `null`: a wildcard cannot carry credentials, and `null` is any sandboxed page.
    #[error("{0:?} is not allowed: list exact origins such as https://app.example.com")]
    Wildcard(String),
    /// Not `scheme://host[:port]` as browsers send it.
    #[error("{entry:?} is not an origin; write it as {expected}")]
    NotAnOrigin {
        /// The entry.
        entry: String,
        /// What a browser would send, where that can be told.
        expected: String,
    },
}

impl CorsOrigins {
    /// A comma-separated list of origins, each exactly as a browser sends it in
    /// `Origin` (`https://app.example.com`, `http://localhost:8080`): no path, no
    /// trailing slash, no default port.
    pub fn parse(list: &str) -> Result<Self, CorsOriginError> {
        let mut origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" || entry.eq_ignore_ascii_case("null") {
                return Err(CorsOriginError::Wildcard(entry.to_owned()));
            }
            let expected = match url::Url::parse(entry) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    url.origin().ascii_serialization()
                }
                _ => "scheme://host[:port]".to_owned(),
            };
            if expected != entry {
                return Err(CorsOriginError::NotAnOrigin {
                    entry: entry.to_owned(),
                    expected,
                });
            }
            if !origins.iter().any(|o| o == entry) {
                origins.push(entry.to_owned());
            }
        }
        Ok(Self(origins.into()))
    }

    /// Whether any origin is listed (CORS is on).
    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// The listed origins.
    pub fn origins(&self) -> &[String] {
        &self.0
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        self.0.iter().any(|o| o.as_bytes() == origin.as_bytes())
    }
}

/// Answers preflights and marks the responses to listed origins; does nothing when
/// no origin is listed.
pub(super) async fn cors(
    State(origins): State<CorsOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if !origins.is_enabled() {
        return next.run(request).await;
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && origin.is_some()
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let allowed = origin.filter(|o| origins.allows(o));
    if preflight {
        let Some(origin) = allowed else {
            return Error::Forbidden("this origin may not call the API from a browser")
                .into_response();
        };
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        allow(headers, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Answers differ by origin, so caches must key on it.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed {
        allow(headers, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
    }
    response
}

fn allow(headers: &mut axum::http::HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_are_kept_once() {
        let origins = CorsOrigins::parse(
            " https://app.example.com, http://localhost:8080,https://app.example.com",
        )
        .unwrap();
        assert_eq!(
            origins.origins(),
            ["https://app.example.com", "http://localhost:8080"]
        );
        assert!(origins.allows(&HeaderValue::from_static("http://localhost:8080")));
        assert!(!origins.allows(&HeaderValue::from_static("http://localhost:8081")));
        assert!(!CorsOrigins::parse("").unwrap().is_enabled());
    }

    #[test]
    fn anything_but_an_exact_origin_is_refused_with_what_to_write() {
        for wildcard in ["*", "null"] {
            assert!(matches!(
                CorsOrigins::parse(wildcard),
                Err(CorsOriginError::Wildcard(_))
            ));
        }
        for (entry, expected) in [
            ("https://app.example.com/", "https://app.example.com"),
            ("https://app.example.com/shop", "https://app.example.com"),
            ("https://APP.example.com", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            ("app.example.com", "scheme://host[:port]"),
            ("ftp://app.example.com", "scheme://host[:port]"),
        ] {
            assert_eq!(
                CorsOrigins::parse(entry),
                Err(CorsOriginError::NotAnOrigin {
                    entry: entry.to_owned(),
                    expected: expected.to_owned()
                }),
                "{entry}"
            );
        }
    }
}
