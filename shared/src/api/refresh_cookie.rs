//! The refresh token's cookie transport (API.md, "Browser clients"): a page asks
//! for it with `X-Refresh-Token-Transport: cookie`, and the 30-day credential then
//! lives in an `HttpOnly` cookie no script can read, while the access token stays in
//! the body for the page to keep in memory.
//!
//! The header is required whenever the cookie is used: a cross-site form or image
//! cannot set it, so the cookie alone never refreshes anything.

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use super::extract::JsonBody;
use crate::error::Error;

/// The header a client sends to choose the cookie.
pub const TRANSPORT_HEADER: &str = "x-refresh-token-transport";

/// The cookie's name. `__Secure-` makes browsers refuse it unless it is `Secure`
/// and set by a secure origin (`https`, or `localhost` in development).
pub const COOKIE_NAME: &str = "__Secure-skiff-refresh";

/// Where the cookie goes: the auth routes only, never the rest of the API.
const COOKIE_PATH: &str = "/auth";

/// Where a token response carries the refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RefreshTransport {
    /// In the JSON body (`refresh_token`), as API clients expect.
    Body,
    /// In the `__Secure-skiff-refresh` cookie, out of scripts' reach.
    Cookie,
}

impl<S: Send + Sync> FromRequestParts<S> for RefreshTransport {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(TRANSPORT_HEADER).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(Self::Body),
            (Some(value), None) if value.as_bytes().eq_ignore_ascii_case(b"cookie") => {
                Ok(Self::Cookie)
            }
            _ => Err(Error::invalid(
                "X-Refresh-Token-Transport must be \"cookie\" (or left out for the body)",
            )),
        }
    }
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

/// The refresh token a `POST /auth/refresh` presents: the body's `refresh_token`,
/// or with the cookie transport the cookie (any body is then ignored).
pub(super) struct PresentedRefresh {
    /// The token as sent; the service parses it.
    pub token: String,
    /// Where the answer puts the new one.
    pub transport: RefreshTransport,
}

impl<S: Send + Sync> FromRequest<S> for PresentedRefresh {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let transport = RefreshTransport::from_request_parts(&mut parts, state).await?;
        let token = match transport {
            RefreshTransport::Cookie => cookie_token(&parts.headers)
                // No cookie is a refresh token that is not valid, as a spent one is.
                .ok_or(Error::InvalidRefreshToken)?,
            RefreshTransport::Body => {
                let JsonBody(RefreshRequest { refresh_token }) =
                    JsonBody::from_request(Request::from_parts(parts, body), state).await?;
                refresh_token
            }
        };
        Ok(Self { token, transport })
    }
}

/// The first `__Secure-skiff-refresh` in the `Cookie` headers (a browser sends the
/// most specific path first).
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE_NAME && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` for a new refresh token, living as long as its session can.
pub(super) fn set_cookie(token: &str, lifetime: Duration) -> Result<HeaderValue, Error> {
    let max_age =
        cookie::time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
    header_value(cookie(token).max_age(max_age))
}

/// `Set-Cookie` that makes the browser forget the refresh token (`Max-Age=0`).
pub(super) fn clear_cookie() -> Result<HeaderValue, Error> {
    header_value(cookie("").max_age(cookie::time::Duration::ZERO))
}

fn cookie(value: &str) -> cookie::CookieBuilder<'_> {
    Cookie::build((COOKIE_NAME, value))
        .path(COOKIE_PATH)
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
}

fn header_value(cookie: cookie::CookieBuilder<'_>) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(&cookie.build().to_string())
        .map_err(|e| Error::internal(format!("set-cookie header: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_secure_http_only_strict_and_scoped_to_auth() {
        let value = set_cookie("tok", Duration::from_secs(3600)).unwrap();
        let parsed = Cookie::parse(value.to_str().unwrap()).unwrap();
        assert_eq!(parsed.name(), COOKIE_NAME);
        assert_eq!(parsed.value(), "tok");
        assert_eq!(parsed.path(), Some("/auth"));
        assert_eq!(parsed.secure(), Some(true));
        assert_eq!(parsed.http_only(), Some(true));
        assert_eq!(parsed.same_site(), Some(SameSite::Strict));
        assert_eq!(parsed.max_age(), Some(cookie::time::Duration::hours(1)));

        let cleared = Cookie::parse(clear_cookie().unwrap().to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cleared.max_age(), Some(cookie::time::Duration::ZERO));
        assert_eq!(cleared.path(), Some("/auth"));
    }

    #[test]
    fn only_the_refresh_cookie_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; other=1"),
        );
        assert_eq!(cookie_token(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=b; __Secure-skiff-refresh=abc; z=y"),
        );
        assert_eq!(cookie_token(&headers).as_deref(), Some("abc"));
    }
}
