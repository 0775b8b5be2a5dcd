//! Browser clients (API.md, "Browser clients") on whichever host `SKIFF_TEST_HOST`
//! names: CORS for the origins the operator lists, and the refresh token carried in
//! an HttpOnly cookie instead of the body.

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use skiff_contract_tests::{PASSWORD, TestHost, assert_problem, unique_email};

const LISTED: &str = "http://shop.example.test:8443";
const UNLISTED: &str = "https://evil.example.test";
const COOKIE: &str = "__Secure-skiff-refresh";
const TRANSPORT: &str = "x-refresh-token-transport";
/// The session's whole life in these tests: the cookie's Max-Age is at most this.
const ABSOLUTE_LIFETIME_SECS: i64 = 3600;

fn cors_headers(headers: &HeaderMap) -> Vec<&str> {
    headers
        .keys()
        .map(header::HeaderName::as_str)
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

async fn preflight(host: &TestHost, origin: &str, path: &str) -> Response {
    host.request(Method::OPTIONS, path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization, content-type, if-match",
        )
        .send()
        .await
        .expect("send")
}

fn header_text(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn listed_origins_get_cors_and_unlisted_ones_nothing() {
    let host = TestHost::start_with(&[(
        "SKIFF_CORS_ORIGINS",
        &format!("https://other.example.test, {LISTED}"),
    )]);

    // A listed origin's preflight: 204, that origin with credentials, what may be sent.
    let answer = preflight(&host, LISTED, "/session/data").await;
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header_text(&answer, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        LISTED
    );
    assert_eq!(
        header_text(&answer, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        "true"
    );
    let methods = header_text(&answer, header::ACCESS_CONTROL_ALLOW_METHODS);
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }
    let allowed = header_text(&answer, header::ACCESS_CONTROL_ALLOW_HEADERS).to_ascii_lowercase();
    for name in ["authorization", "content-type", "if-match", TRANSPORT] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert_eq!(header_text(&answer, header::VARY), "Origin");
    let max_age: u64 = header_text(&answer, header::ACCESS_CONTROL_MAX_AGE)
        .parse()
        .unwrap();
    assert!(max_age > 0);

    // Its real requests, answered or refused, carry the origin (never `*`) and let
    // the page read the headers it needs.
    for (path, status) in [("/health", 200), ("/session", 401)] {
        let response = host
            .request(Method::GET, path)
            .header(header::ORIGIN, LISTED)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(
            header_text(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
            LISTED
        );
        assert_eq!(
            header_text(&response, header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            "true"
        );
        let exposed = header_text(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS);
        assert!(
            exposed.contains("ETag") && exposed.contains("Retry-After"),
            "{exposed}"
        );
        let vary: Vec<&str> = response
            .headers()
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(vary, ["Origin"], "Vary: Origin, once");
    }

    // An unlisted origin: its preflight is refused without a CORS header, and its
    // requests are answered as for any client, with no CORS header either.
    let refused = preflight(&host, UNLISTED, "/session/data").await;
    assert!(
        cors_headers(refused.headers()).is_empty(),
        "{:?}",
        refused.headers()
    );
    let problem = assert_problem(refused, 403).await;
    assert_eq!(problem["type"], "/problems/forbidden");
    for origin in [UNLISTED, "null", "http://shop.example.test"] {
        let response = host
            .request(Method::GET, "/health")
            .header(header::ORIGIN, origin)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        assert!(
            cors_headers(response.headers()).is_empty(),
            "{origin}: {:?}",
            response.headers()
        );
    }
}

#[tokio::test]
async fn without_listed_origins_there_is_no_cors() {
    let host = TestHost::start();
    let refused = preflight(&host, LISTED, "/session/data").await;
    assert!(cors_headers(refused.headers()).is_empty());
    assert_problem(refused, 405).await;
    let response = host
        .request(Method::GET, "/health")
        .header(header::ORIGIN, LISTED)
        .send()
        .await
        .expect("send");
    assert!(cors_headers(response.headers()).is_empty());
}

/// The `__Secure-skiff-refresh` cookie a response set: its value and attributes.
struct SetCookie {
    value: String,
    attributes: Vec<String>,
}

impl SetCookie {
    fn of(response: &Response) -> Self {
        let cookies: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .filter(|v| v.starts_with(&format!("{COOKIE}=")))
            .collect();
        assert_eq!(cookies.len(), 1, "one refresh cookie: {cookies:?}");
        let mut parts = cookies[0].split(';').map(str::trim);
        let value = parts.next().unwrap()[COOKIE.len() + 1..].to_owned();
        Self {
            value,
            attributes: parts.map(str::to_owned).collect(),
        }
    }

    fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attribute))
    }

    fn max_age(&self) -> i64 {
        self.attributes
            .iter()
            .find_map(|a| a.strip_prefix("Max-Age="))
            .expect("Max-Age")
            .parse()
            .unwrap()
    }

    fn assert_protected(&self) {
        for attribute in ["Path=/auth", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(self.has(attribute), "{attribute} in {:?}", self.attributes);
        }
    }
}

async fn login_with_cookie(host: &TestHost, email: &str) -> Response {
    host.request(Method::POST, "/auth/login")
        .header(TRANSPORT, "cookie")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("send")
}

async fn refresh_with_cookie(host: &TestHost, cookie: Option<&str>) -> Response {
    let request = host
        .request(Method::POST, "/auth/refresh")
        .header(TRANSPORT, "cookie");
    match cookie {
        Some(value) => request.header(header::COOKIE, format!("theme=dark; {COOKIE}={value}")),
        None => request,
    }
    .send()
    .await
    .expect("send")
}

async fn session_works(host: &TestHost, access_token: &str) -> bool {
    host.get_auth("/session", access_token).await.status() == StatusCode::OK
}

#[tokio::test]
async fn the_refresh_token_travels_in_an_http_only_cookie_when_asked() {
    let host = TestHost::start_with(&[("SKIFF_SESSION_ABSOLUTE_LIFETIME", "1h")]);
    let email = unique_email();
    assert_eq!(host.register(&email, PASSWORD).await.status(), 201);

    // Login: the access token in the body, the refresh token only in the cookie.
    let login = login_with_cookie(&host, &email).await;
    assert_eq!(login.status(), 200);
    let first = SetCookie::of(&login);
    first.assert_protected();
    assert!(
        (1..=ABSOLUTE_LIFETIME_SECS).contains(&first.max_age()),
        "{}",
        first.max_age()
    );
    let body: Value = login.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(session_works(&host, body["access_token"].as_str().unwrap()).await);

    // Without the header the cookie is never read (a cross-site form cannot set
    // it): the body is required, and the cookie is not spent.
    let ignored = host
        .request(Method::POST, "/auth/refresh")
        .header(header::COOKIE, format!("{COOKIE}={}", first.value))
        .send()
        .await
        .expect("send");
    assert_problem(ignored, 400).await;
    let bad_transport = host
        .request(Method::POST, "/auth/refresh")
        .header(TRANSPORT, "localStorage")
        .header(header::COOKIE, format!("{COOKIE}={}", first.value))
        .send()
        .await
        .expect("send");
    assert_problem(bad_transport, 400).await;

    // Refresh by cookie: a new cookie, a new access token, still no token in the body.
    let refreshed = refresh_with_cookie(&host, Some(&first.value)).await;
    assert_eq!(refreshed.status(), 200);
    let second = SetCookie::of(&refreshed);
    second.assert_protected();
    assert_ne!(second.value, first.value);
    let body: Value = refreshed.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    assert!(session_works(&host, &access_token).await);

    // No cookie: 401. The spent cookie: 401, and (token theft) the session ends.
    let problem = assert_problem(refresh_with_cookie(&host, None).await, 401).await;
    assert_eq!(problem["type"], "/problems/invalid-refresh-token");
    let problem = assert_problem(refresh_with_cookie(&host, Some(&first.value)).await, 401).await;
    assert_eq!(problem["type"], "/problems/invalid-refresh-token");
    assert!(!session_works(&host, &access_token).await);
    assert_problem(refresh_with_cookie(&host, Some(&second.value)).await, 401).await;

    // Logout clears the cookie, and the session's cookie no longer refreshes.
    let login = login_with_cookie(&host, &email).await;
    let third = SetCookie::of(&login);
    let body: Value = login.json().await.unwrap();
    let logout = host
        .post_auth(
            "/auth/logout",
            body["access_token"].as_str().unwrap(),
            &json!({}),
        )
        .await;
    assert_eq!(logout.status(), 204);
    let cleared = SetCookie::of(&logout);
    cleared.assert_protected();
    assert_eq!(cleared.max_age(), 0);
    assert!(cleared.value.is_empty());
    assert_problem(refresh_with_cookie(&host, Some(&third.value)).await, 401).await;

    // The body transport is unchanged, and its token is not accepted as a cookie
    // by a request that did not ask for the cookie transport.
    let tokens = host.login_ok(&email).await;
    assert!(tokens["refresh_token"].is_string());
    let by_body = host
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(by_body.status(), 200);
    assert!(by_body.headers().get(header::SET_COOKIE).is_none());
}
