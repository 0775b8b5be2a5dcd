//! The HTTP contract (API.md) as one axum Router built only from ports. Every host
//! (local server, Lambda, Azure) serves it unchanged; a Lambda function serves the
//! [`Part`]s it hosts, with the same handlers, errors and middleware.

mod auth_routes;
mod discovery_routes;
mod extract;
mod middleware;
mod problem;
mod session_routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post, put};

pub use discovery_routes::Discovery;

use crate::auth::{AuthService, Authenticator};
use crate::sessions::SessionService;

/// What the auth routes need.
#[derive(Clone)]
pub struct AuthApi {
    pub auth: AuthService,
    pub authenticator: Authenticator,
}

/// What the session routes need: no signing key, no password hasher.
#[derive(Clone)]
pub struct SessionApi {
    pub sessions: SessionService,
    pub authenticator: Authenticator,
}

impl FromRef<AuthApi> for Authenticator {
    fn from_ref(api: &AuthApi) -> Self {
        api.authenticator.clone()
    }
}

impl FromRef<SessionApi> for Authenticator {
    fn from_ref(api: &SessionApi) -> Self {
        api.authenticator.clone()
    }
}

/// One part of the contract, with everything it needs built once per process.
pub enum Part {
    /// `GET /health`
    Health,
    /// `GET /.well-known/openid-configuration` and `/.well-known/jwks.json`
    Discovery(Arc<Discovery>),
    /// `POST /auth/{register,login,refresh,logout}`
    Auth(Box<AuthApi>),
    /// `GET /session`, `PUT|PATCH|DELETE /session/data`
    Sessions(SessionApi),
}

/// The paths of each part, as the infrastructure (API Gateway, Azure) must route them.
pub mod paths {
    pub const HEALTH: &[&str] = &["/health"];
    pub const DISCOVERY: &[&str] = &[
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ];
    pub const AUTH: &[&str] = &[
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
    ];
    pub const SESSIONS: &[&str] = &["/session", "/session/data"];
}

impl Part {
    fn into_router(self) -> Router {
        match self {
            Part::Health => Router::new().route("/health", get(discovery_routes::health)),
            Part::Discovery(discovery) => Router::new()
                .route(
                    "/.well-known/openid-configuration",
                    get(discovery_routes::openid_configuration),
                )
                .route("/.well-known/jwks.json", get(discovery_routes::jwks))
                .with_state(discovery),
            Part::Auth(api) => Router::new()
                .route("/auth/register", post(auth_routes::register))
                .route("/auth/login", post(auth_routes::login))
                .route("/auth/refresh", post(auth_routes::refresh))
                .route("/auth/logout", post(auth_routes::logout))
                .with_state(*api),
            Part::Sessions(api) => Router::new()
                .route("/session", get(session_routes::get_session))
                .route(
                    "/session/data",
                    put(session_routes::replace_data)
                        .patch(session_routes::patch_data)
                        .delete(session_routes::clear_data),
                )
                .with_state(api),
        }
    }
}

/// Host-level limits applied around the routes.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
}

/// The given parts of the contract with its middleware (request id, tracing, body
/// limit, panic → problem+json) and problem+json 404/405 for everything else.
pub fn router(parts: impl IntoIterator<Item = Part>, limits: HttpLimits) -> Router {
    let routes = parts
        .into_iter()
        .fold(Router::new(), |router, part| {
            router.merge(part.into_router())
        })
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed);
    middleware::wrap(routes, limits)
}
