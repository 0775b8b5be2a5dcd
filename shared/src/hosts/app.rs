//! Builds the parts of the contract from stores, keys and settings, once per
//! process: keys, the Argon2 instance and its dummy hash, the JWKS and the discovery
//! document are made here, at init, never per request.

use std::sync::Arc;

use axum::Router;

use crate::api::openapi::{OpenApi, OpenApiOptions};
use crate::api::{self, AccountApi, AuthApi, Discovery, HttpSettings, JobsApi, Part, SessionApi};
use crate::app::{App, AppContext, Records};
use crate::auth::{
    AuthService, AuthSettings, Authenticator, BoundedHasher, CredentialCheck, Federation, KeyRing,
    LoginThrottles, PasswordHasher, PublicKeys, TokenSigner, TokenVerifier,
};
use crate::config::WorkSettings;
use crate::error::Error;
use crate::idempotency::Idempotency;
use crate::jobs::{JobContext, JobRegistry, JobService, JobWorker};
use crate::notifications::{NotificationService, Notifier};
use crate::ports::{
    Clock, DeletionWorkflow, EventPublisher, JobQueue, Messaging, Stores, SystemClock,
};
use crate::sessions::SessionService;
use crate::workflow::{DeletionService, DeletionSteps};

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn authenticator(stores: &Stores, keys: &PublicKeys, settings: &AuthSettings) -> Authenticator {
    Authenticator::new(
        TokenVerifier::new(keys, &settings.issuer, &settings.audience),
        stores.sessions.clone(),
        clock(),
        settings.session,
    )
}

/// Password (and ID token) checks through the login throttles and the hashing
/// bound: login, registration and the re-authentication before an account
/// deletion. The trusted issuers' key caches live in it, one per process.
pub fn credential_check(
    stores: &Stores,
    settings: &AuthSettings,
) -> Result<CredentialCheck, Error> {
    let check = CredentialCheck::new(
        stores.users.clone(),
        BoundedHasher::new(PasswordHasher::new()?, settings.hashing),
        LoginThrottles::new(
            stores.throttles.clone(),
            clock(),
            settings.throttles,
            settings.hashing.queue_timeout,
        ),
    );
    Ok(if settings.federated_issuers.is_empty() {
        check
    } else {
        check.with_federation(Arc::new(Federation::new(&settings.federated_issuers)))
    })
}

/// Register, login, refresh and logout: needs the private signing keys. Share
/// `credentials` with the account part, so one hashing bound covers the process.
pub fn auth_part(
    stores: &Stores,
    keys: &KeyRing,
    settings: &AuthSettings,
    credentials: CredentialCheck,
) -> Part {
    let signer = TokenSigner::new(
        keys,
        settings.issuer.clone(),
        settings.audience.clone(),
        settings.access_token_ttl,
    );
    Part::auth(AuthApi {
        auth: AuthService::new(stores.clone(), clock(), credentials, signer, settings),
        authenticator: authenticator(stores, keys.public_keys(), settings),
    })
}

/// Session reads and writes: public keys only.
pub fn sessions_part(stores: &Stores, keys: &PublicKeys, settings: &AuthSettings) -> Part {
    Part::sessions(SessionApi {
        sessions: SessionService::new(stores.sessions.clone(), clock(), settings.session),
        authenticator: authenticator(stores, keys, settings),
    })
}

/// `GET /openapi.json`: the contract this host serves, and the app's documented
/// routes when the host runs the app.
pub fn openapi_part(
    settings: &AuthSettings,
    federated: bool,
    app: Option<&App>,
) -> Result<Part, Error> {
    let document = OpenApi::new(&OpenApiOptions {
        server_url: &settings.issuer,
        federated,
        app_paths: app.map(App::documented_paths),
    })?;
    Ok(Part::open_api(Arc::new(document)))
}

/// OpenID discovery and the JWKS.
pub fn discovery_part(keys: &PublicKeys, settings: &AuthSettings) -> Part {
    Part::discovery(Arc::new(Discovery::new(&settings.issuer, keys)))
}

/// Submits jobs of `registry`'s kinds to `queue`.
pub fn job_service(stores: &Stores, queue: Arc<dyn JobQueue>, registry: JobRegistry) -> JobService {
    JobService::new(
        stores.jobs.clone(),
        queue,
        registry,
        Idempotency::new(stores.idempotency.clone(), clock()),
        clock(),
    )
}

/// What an app's routes get: the same authenticator, session and job services
/// Skiff's routes use, and the app's records.
pub fn app_context(
    stores: &Stores,
    keys: &PublicKeys,
    settings: &AuthSettings,
    jobs: JobService,
) -> AppContext {
    AppContext::new(
        authenticator(stores, keys, settings),
        SessionService::new(stores.sessions.clone(), clock(), settings.session),
        Records::new(stores.records.clone(), clock()),
        jobs,
    )
}

/// The app's own routes as a part, behind the contract's middleware.
pub fn app_part(app: &App, context: &AppContext) -> Part {
    Part::app(app.build_routes(context))
}

/// Jobs and notifications: public keys, the job queue and the kinds it accepts.
pub fn jobs_part(
    stores: &Stores,
    queue: Arc<dyn JobQueue>,
    registry: JobRegistry,
    keys: &PublicKeys,
    settings: &AuthSettings,
) -> Part {
    let jobs = job_service(stores, queue, registry);
    Part::jobs(JobsApi {
        jobs,
        notifications: NotificationService::new(stores.notifications.clone()),
        authenticator: authenticator(stores, keys, settings),
    })
}

/// Account deletion: public keys, the password check, the events topic (the
/// code goes out as an event) and the workflow.
pub fn account_part(
    stores: &Stores,
    events: Arc<dyn EventPublisher>,
    workflow: Arc<dyn DeletionWorkflow>,
    credentials: CredentialCheck,
    keys: &PublicKeys,
    settings: &AuthSettings,
    work: &WorkSettings,
) -> Part {
    Part::account(AccountApi {
        deletions: DeletionService::new(
            stores.deletions.clone(),
            workflow,
            events,
            clock(),
            work.deletion_window,
        ),
        credentials,
        authenticator: authenticator(stores, keys, settings),
    })
}

/// What jobs and subscribers run with.
pub fn job_context(stores: &Stores, settings: &AuthSettings) -> JobContext {
    JobContext::new(stores.clone(), settings.session, clock())
}

/// The queue consumer that runs jobs of `registry`'s kinds.
pub fn job_worker(
    context: JobContext,
    events: Arc<dyn EventPublisher>,
    registry: JobRegistry,
    work: &WorkSettings,
) -> JobWorker {
    JobWorker::new(context, registry, events, clock(), work.job_max_attempts)
}

/// The events subscriber: Skiff's notifications, then the app's subscribers.
pub fn notifier(context: JobContext, app: &App) -> Notifier {
    Notifier::new(context, app.subscribers().to_vec())
}

/// The code of the deletion workflow's steps.
pub fn deletion_steps(stores: &Stores, events: Arc<dyn EventPublisher>) -> DeletionSteps {
    DeletionSteps::new(stores.clone(), events, clock())
}

/// Everything a full host needs to serve the whole contract and an app.
pub struct Backend<'a> {
    /// The backend's stores.
    pub stores: Stores,
    /// Where jobs, events and deletions are handed off.
    pub messaging: Messaging,
    /// The app: its routes and job kinds.
    pub app: &'a App,
    /// The signing keys.
    pub keys: &'a KeyRing,
    /// Token, session and password settings.
    pub auth: &'a AuthSettings,
    /// Jobs and deletion settings.
    pub work: &'a WorkSettings,
}

/// The whole contract and the app's routes, as the local server and the Azure
/// handler serve them.
pub fn build_router(backend: Backend<'_>, http: HttpSettings) -> Result<Router, Error> {
    let Backend {
        stores,
        messaging,
        app,
        keys,
        auth,
        work,
    } = backend;
    let registry = app.registry().clone();
    let public = keys.public_keys();
    let credentials = credential_check(&stores, auth)?;
    let parts = [
        Part::health(),
        openapi_part(auth, credentials.federated(), Some(app))?,
        discovery_part(public, auth),
        auth_part(&stores, keys, auth, credentials.clone()),
        sessions_part(&stores, public, auth),
        account_part(
            &stores,
            messaging.events,
            messaging.workflow,
            credentials,
            public,
            auth,
            work,
        ),
        jobs_part(
            &stores,
            messaging.jobs.clone(),
            registry.clone(),
            public,
            auth,
        ),
        app_part(
            app,
            &app_context(
                &stores,
                public,
                auth,
                job_service(&stores, messaging.jobs, registry),
            ),
        ),
    ];
    Ok(api::router(parts, http))
}
