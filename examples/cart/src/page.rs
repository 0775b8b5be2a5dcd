//! The cart's web page: three static files compiled into the binary, so every host
//! serves them from the same origin as the API (the refresh cookie is `SameSite=Strict`
//! and scoped to `/auth` of that origin).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// Scripts and styles from this origin only, no inline code, no framing: an
/// injected script has nowhere to load from and nothing to read but the page.
const CONTENT_SECURITY_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);

/// `GET /`, `/app.js` and `/app.css`.
pub(crate) fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| {
                file(
                    "text/html; charset=utf-8",
                    include_str!("../web/index.html"),
                )
            }),
        )
        .route(
            "/app.js",
            get(|| {
                file(
                    "text/javascript; charset=utf-8",
                    include_str!("../web/app.js"),
                )
            }),
        )
        .route(
            "/app.css",
            get(|| file("text/css; charset=utf-8", include_str!("../web/app.css"))),
        )
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            // Revalidate on every load, so a new deployment's page is never mixed
            // with an old script.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}
