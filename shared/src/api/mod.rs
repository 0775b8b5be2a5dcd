//! The HTTP contract (API.md) as one axum Router built only from ports. Every host
//! (local server, Lambda, Azure) serves it unchanged; a Lambda function serves the
//! [`Part`]s it hosts, with the same handlers, errors and middleware.

mod account_routes;
mod auth_routes;
mod cors;
mod discovery_routes;
mod extract;
mod job_view;
mod jobs_routes;
mod middleware;
mod notification_view;
pub mod openapi;
mod problem;
mod refresh_cookie;
mod session_routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{delete, get, post, put};

pub use crate::domain::ClientAddress;
pub use cors::{CorsOriginError, CorsOrigins};
pub use discovery_routes::Discovery;
pub use extract::{
    Caller, Client, IfMatch, JsonBody, JsonValue, MAX_JSON_DEPTH, depth, parse_json,
};
pub(crate) use job_view::job_json;
pub use refresh_cookie::{
    COOKIE_NAME as REFRESH_COOKIE, TRANSPORT_HEADER as REFRESH_TRANSPORT_HEADER,
};

use crate::auth::{AuthService, Authenticator, CredentialCheck};
use crate::jobs::JobService;
use crate::notifications::NotificationService;
use crate::sessions::SessionService;
use crate::workflow::DeletionService;

/// What the auth routes need.
#[derive(Clone)]
pub struct AuthApi {
    /// Register, login, refresh, logout.
    pub auth: AuthService,
    /// For logout's caller.
    pub authenticator: Authenticator,
}

/// What the session routes need: no signing key, no password hasher.
#[derive(Clone)]
pub struct SessionApi {
    /// Reads and writes of the caller's session.
    pub sessions: SessionService,
    /// Checks bearer tokens.
    pub authenticator: Authenticator,
}

/// What the jobs and notifications routes need.
#[derive(Clone)]
pub struct JobsApi {
    /// Submit, read and list.
    pub jobs: JobService,
    /// The caller's notifications.
    pub notifications: NotificationService,
    /// Checks bearer tokens.
    pub authenticator: Authenticator,
}

/// What the account-deletion routes need.
#[derive(Clone)]
pub struct AccountApi {
    /// Request, confirm, status.
    pub deletions: DeletionService,
    /// Deleting an account asks for the password again.
    pub credentials: CredentialCheck,
    /// Checks bearer tokens.
    pub authenticator: Authenticator,
}

impl FromRef<JobsApi> for Authenticator {
    fn from_ref(api: &JobsApi) -> Self {
        api.authenticator.clone()
    }
}

impl FromRef<AccountApi> for Authenticator {
    fn from_ref(api: &AccountApi) -> Self {
        api.authenticator.clone()
    }
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

/// One part of the contract, its routes given everything they need (built once per
/// process). Each kind of part has its own constructor, so a binary links the
/// handlers of the parts it serves and no others: one function matching on every
/// kind put every route's handlers in every Lambda function.
pub struct Part(Router);

/// The paths of each part, as the infrastructure (API Gateway, Azure) must route them.
pub mod paths {
    /// `GET /health`.
    pub const HEALTH: &[&str] = &["/health"];
    /// The OpenAPI document.
    pub const OPENAPI: &[&str] = &["/openapi.json"];
    /// The discovery document and the JWKS.
    pub const DISCOVERY: &[&str] = &[
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ];
    /// The auth routes.
    pub const AUTH: &[&str] = &[
        "/auth/register",
        "/auth/login",
        "/auth/federated",
        "/auth/refresh",
        "/auth/logout",
    ];
    /// The session routes.
    pub const SESSIONS: &[&str] = &["/session", "/session/data"];
    /// The jobs and notifications routes.
    pub const JOBS: &[&str] = &["/jobs", "/jobs/{job_id}", "/notifications"];
    /// The account-deletion routes.
    pub const ACCOUNT: &[&str] = &[
        "/account",
        "/account/deletion/confirm",
        "/account/deletion/{deletion_id}",
    ];
    /// Every group above: the whole contract's paths.
    pub const ALL: &[&[&str]] = &[HEALTH, OPENAPI, DISCOVERY, AUTH, SESSIONS, JOBS, ACCOUNT];
}

impl Part {
    /// `GET /health`
    pub fn health() -> Self {
        Self(Router::new().route("/health", get(discovery_routes::health)))
    }

    /// `GET /openapi.json`: what this host serves, as an OpenAPI 3.1 document
    pub fn open_api(document: Arc<openapi::OpenApi>) -> Self {
        Self(
            Router::new()
                .route("/openapi.json", get(openapi::openapi))
                .with_state(document),
        )
    }

    /// `GET /.well-known/openid-configuration` and `/.well-known/jwks.json`
    pub fn discovery(discovery: Arc<Discovery>) -> Self {
        Self(
            Router::new()
                .route(
                    "/.well-known/openid-configuration",
                    get(discovery_routes::openid_configuration),
                )
                .route("/.well-known/jwks.json", get(discovery_routes::jwks))
                .with_state(discovery),
        )
    }

    /// `POST /auth/{register,login,refresh,logout}`, and `/auth/federated` when
    /// issuers are trusted
    pub fn auth(api: AuthApi) -> Self {
        let routes = Router::new()
            .route("/auth/register", post(auth_routes::register))
            .route("/auth/login", post(auth_routes::login))
            .route("/auth/refresh", post(auth_routes::refresh))
            .route("/auth/logout", post(auth_routes::logout));
        // Without trusted issuers the route does not exist (404), as in a
        // deployment that never heard of federation.
        let routes = if api.auth.federated() {
            routes.route("/auth/federated", post(auth_routes::federated_login))
        } else {
            routes
        };
        Self(routes.with_state(api))
    }

    /// `GET /session`, `PUT|PATCH|DELETE /session/data`
    pub fn sessions(api: SessionApi) -> Self {
        Self(
            Router::new()
                .route("/session", get(session_routes::get_session))
                .route(
                    "/session/data",
                    put(session_routes::replace_data)
                        .patch(session_routes::patch_data)
                        .delete(session_routes::clear_data),
                )
                .with_state(api),
        )
    }

    /// `POST|GET /jobs`, `GET /jobs/{job_id}`, `GET /notifications`
    pub fn jobs(api: JobsApi) -> Self {
        Self(
            Router::new()
                .route("/jobs", post(jobs_routes::submit).get(jobs_routes::list))
                .route("/jobs/{job_id}", get(jobs_routes::get))
                .route("/notifications", get(jobs_routes::notifications))
                .with_state(api),
        )
    }

    /// `DELETE /account`, `POST /account/deletion/confirm`, `GET /account/deletion/{id}`
    pub fn account(api: AccountApi) -> Self {
        Self(
            Router::new()
                .route("/account", delete(account_routes::request_deletion))
                .route(
                    "/account/deletion/confirm",
                    post(account_routes::confirm_deletion),
                )
                .route(
                    "/account/deletion/{deletion_id}",
                    get(account_routes::deletion_status),
                )
                .with_state(api),
        )
    }

    /// An app's own routes (`skiff::app::App::routes`), already given their state.
    pub fn app(routes: Router) -> Self {
        Self(routes)
    }
}

/// Host-level settings applied around the routes, the same on every host.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Larger bodies are refused 413 (`SKIFF_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// The browser origins CORS admits (`SKIFF_CORS_ORIGINS`); none by default.
    pub cors_origins: CorsOrigins,
}

/// The given parts of the contract with its middleware (request id, tracing, CORS,
/// body limit, panic → problem+json) and problem+json 404/405 for everything else.
pub fn router(parts: impl IntoIterator<Item = Part>, settings: HttpSettings) -> Router {
    let routes = parts
        .into_iter()
        .fold(Router::new(), |router, part| router.merge(part.0))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed);
    middleware::wrap(routes, settings)
}
