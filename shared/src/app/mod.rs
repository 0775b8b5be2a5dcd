//! Build your own stateless app on Skiff: routes next to Skiff's behind the same
//! middleware, typed session state, per-user records, job kinds and event
//! subscribers, run by every host from the same [`App`] value.
//!
//! ```no_run
//! use axum::{Json, Router, extract::State, routing::get};
//! use serde::{Deserialize, Serialize};
//! use skiff::app::{App, AppContext, Caller, SessionState};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Visits {
//!     count: u32,
//! }
//!
//! const VISITS: SessionState<Visits> = SessionState::new("visits");
//!
//! async fn visit(
//!     State(app): State<AppContext>,
//!     Caller(caller): Caller,
//! ) -> Result<Json<u32>, skiff::Error> {
//!     let (visits, ()) = VISITS
//!         .update(app.sessions(), &caller, &Default::default(), |v| {
//!             v.count += 1;
//!             Ok(())
//!         })
//!         .await?;
//!     Ok(Json(visits.value.count))
//! }
//!
//! fn app() -> App {
//!     App::new().routes(|context| {
//!         Router::new()
//!             .route("/visits", get(visit))
//!             .with_state(context.clone())
//!     })
//! }
//!
//! # #[cfg(feature = "sqlite")]
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     skiff::telemetry::init()?;
//!     let config = skiff::hosts::local::LocalConfig::from_env()?;
//!     skiff::hosts::local::run_app(config, app()).await?;
//!     Ok(())
//! }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```

mod records;
mod session_state;
mod subscriber;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;

pub use crate::api::{Caller, ClientAddress, IfMatch, JsonBody, JsonValue};
pub use crate::jobs::{JobContext, JobError, JobHandler};
pub use records::{RecordCollection, RecordPage, Records, Stored};
pub use session_state::{SessionState, Versioned};
pub use subscriber::EventSubscriber;

use crate::auth::Authenticator;
use crate::jobs::{JobRegistry, JobService};
use crate::sessions::SessionService;

type RouteBuilder = Arc<dyn Fn(&AppContext) -> Router + Send + Sync>;

/// A Skiff app: the whole contract plus what a team adds. Every host takes one
/// (`hosts::local::run_app`, `hosts::lambda::run_app_http` and the other Lambda
/// entry points, `hosts::azure::run_app`), so the same value runs everywhere.
#[derive(Clone)]
pub struct App {
    routes: Vec<RouteBuilder>,
    registry: JobRegistry,
    subscribers: Vec<Arc<dyn EventSubscriber>>,
    openapi_paths: serde_json::Map<String, serde_json::Value>,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// Skiff's contract alone, with its job kinds (`echo`, `export`).
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            registry: JobRegistry::builtin(),
            subscribers: Vec::new(),
            openapi_paths: serde_json::Map::new(),
        }
    }

    /// Documents the app's routes in the host's `GET /openapi.json`: `paths` is an
    /// OpenAPI 3.1 `paths` object (it may name Skiff's components, such as
    /// `#/components/responses/Unauthenticated` and the `bearerAuth` scheme). The
    /// local server and the Azure handler serve it; on Lambda the document comes
    /// from Skiff's session function, which does not know the app.
    pub fn openapi_paths(mut self, paths: serde_json::Map<String, serde_json::Value>) -> Self {
        self.openapi_paths.extend(paths);
        self
    }

    /// The paths the app documents.
    pub fn documented_paths(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.openapi_paths
    }

    /// Adds routes, built once per process from the app's services. They are
    /// merged with Skiff's and served behind the same middleware (request id,
    /// body limit, problem+json errors, panic catcher, security headers). A path
    /// Skiff serves cannot be taken: axum panics at start-up on the overlap.
    pub fn routes(mut self, build: impl Fn(&AppContext) -> Router + Send + Sync + 'static) -> Self {
        self.routes.push(Arc::new(build));
        self
    }

    /// Adds a job kind (or replaces one of Skiff's).
    ///
    /// # Panics
    /// If `name` is not a valid job kind (1 to 64 of `a-z`, `0-9`, `_`, `.`, `-`): names
    /// are literals in code, so the first test that builds the app catches it.
    pub fn job(mut self, name: &str, handler: impl JobHandler + 'static) -> Self {
        self.registry = self.registry.register(name, handler);
        self
    }

    /// Adds an event subscriber, run after Skiff's notifier on every event.
    pub fn subscriber(mut self, subscriber: impl EventSubscriber + 'static) -> Self {
        self.subscribers.push(Arc::new(subscriber));
        self
    }

    /// The job kinds the app's hosts accept and run.
    pub fn registry(&self) -> &JobRegistry {
        &self.registry
    }

    /// The subscribers, in the order they were added.
    pub fn subscribers(&self) -> &[Arc<dyn EventSubscriber>] {
        &self.subscribers
    }

    /// Whether the app adds anything to Skiff's own job kinds.
    pub fn has_own_job_kinds(&self) -> bool {
        self.registry.names() != JobRegistry::builtin().names()
    }

    /// The app's routes (without Skiff's), built from `context`.
    pub fn build_routes(&self, context: &AppContext) -> Router {
        self.routes
            .iter()
            .fold(Router::new(), |router, build| router.merge(build(context)))
    }
}

/// What an app's handlers use; the state of its routes. Cheap to clone.
#[derive(Clone)]
pub struct AppContext {
    authenticator: Authenticator,
    sessions: SessionService,
    records: Records,
    jobs: JobService,
}

impl AppContext {
    /// Built by the hosts, from the same services Skiff's routes use.
    pub fn new(
        authenticator: Authenticator,
        sessions: SessionService,
        records: Records,
        jobs: JobService,
    ) -> Self {
        Self {
            authenticator,
            sessions,
            records,
            jobs,
        }
    }

    /// Checks bearer tokens; what [`Caller`] uses.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The caller's session, for [`SessionState`].
    pub fn sessions(&self) -> &SessionService {
        &self.sessions
    }

    /// The app's records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Submits jobs of the app's kinds (and Skiff's).
    pub fn jobs(&self) -> &JobService {
        &self.jobs
    }
}

impl FromRef<AppContext> for Authenticator {
    fn from_ref(context: &AppContext) -> Self {
        context.authenticator.clone()
    }
}
