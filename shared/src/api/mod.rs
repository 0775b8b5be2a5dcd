//! The HTTP contract (API.md) as one axum Router built only from ports. Every host
//! (local server, Lambda, Azure) serves this Router unchanged.

mod auth_routes;
mod discovery_routes;
mod extract;
mod middleware;
mod problem;
mod session_routes;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};

pub use discovery_routes::Discovery;

use crate::auth::AuthService;
use crate::sessions::SessionService;

/// Everything a request handler may touch, built once per process.
#[derive(Clone)]
pub struct AppState {
    pub auth: AuthService,
    pub sessions: SessionService,
    pub discovery: Arc<Discovery>,
}

/// Host-level limits applied around the routes.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
}

/// The whole auth + session contract with its middleware (request id, tracing,
/// body limit, panic → problem+json).
pub fn router(state: AppState, limits: HttpLimits) -> Router {
    let routes = Router::new()
        .route("/health", get(discovery_routes::health))
        .route(
            "/.well-known/openid-configuration",
            get(discovery_routes::openid_configuration),
        )
        .route("/.well-known/jwks.json", get(discovery_routes::jwks))
        .route("/auth/register", post(auth_routes::register))
        .route("/auth/login", post(auth_routes::login))
        .route("/auth/refresh", post(auth_routes::refresh))
        .route("/auth/logout", post(auth_routes::logout))
        .route("/session", get(session_routes::get_session))
        .route(
            "/session/data",
            put(session_routes::replace_data)
                .patch(session_routes::patch_data)
                .delete(session_routes::clear_data),
        )
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state);
    middleware::wrap(routes, limits)
}
