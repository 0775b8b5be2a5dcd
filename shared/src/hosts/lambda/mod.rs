//! The AWS Lambda host: API Gateway HTTP API (payload v2) events in, the shared
//! Router's responses out. Each function serves its parts of the contract; clients,
//! keys and services are built once per execution environment, at init.

mod aws_env;
mod config;
mod invocation;
mod keys;
mod metrics;
#[cfg(test)]
mod moto_sdk;
mod sqs;
#[cfg(test)]
mod worker_tests;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use lambda_http::RequestExt;
use tracing::Instrument;

pub use aws_env::AwsEnv;
pub use config::LambdaConfig;

use std::sync::Arc;

use crate::adapters::aws_messaging::{
    LazyClient, SfnDeletionWorkflow, SnsEventPublisher, SqsJobQueue,
};
use crate::adapters::dynamodb::DynamoStore;
use crate::api::{self, Part};
use crate::app::App;
use crate::domain::ClientAddress;
use crate::hosts::{
    account_part, app_context, app_part, auth_part, credential_check, discovery_part, job_service,
    jobs_part, openapi_part, sessions_part,
};
use crate::jobs::JobRegistry;
use crate::ports::Stores;

/// The Lambda functions Skiff ships, each with its share of the contract or its
/// queue, and an app's own HTTP function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Function {
    /// `/auth/*` and `/.well-known/*`; reads the private signing keys.
    Login,
    /// `/session`, `/session/data` and `/health`; public keys only.
    Session,
    /// `/jobs*` and `/notifications`; sends jobs to the queue.
    Jobs,
    /// `/account` and `/account/deletion/*`; starts and confirms the workflow.
    Account,
    /// Consumes the jobs queue.
    Worker,
    /// Consumes the events queue (the SNS topic's subscription).
    Notifier,
    /// Consumes the deletion-steps queue the state machine sends to.
    Workflow,
    /// An app's routes (`run_app_http`); public keys only, like `Session`.
    App,
}

impl Function {
    /// Skiff's own functions.
    pub const ALL: [Function; 7] = [
        Function::Login,
        Function::Session,
        Function::Jobs,
        Function::Account,
        Function::Worker,
        Function::Notifier,
        Function::Workflow,
    ];

    /// The binary's name (also its folder under `functions/`).
    pub fn name(self) -> &'static str {
        match self {
            Function::Login => "login",
            Function::Session => "session",
            Function::Jobs => "jobs",
            Function::Account => "account",
            Function::Worker => "worker",
            Function::Notifier => "notifier",
            Function::Workflow => "workflow",
            Function::App => "app",
        }
    }

    /// The variables this function cannot start without (the template must set them).
    pub fn required_variables(self) -> &'static [&'static str] {
        match self {
            Function::Login => &["SKIFF_TABLE", "SKIFF_ISSUER", "SKIFF_SIGNING_KEYS_SECRET"],
            Function::Session | Function::App => &["SKIFF_TABLE", "SKIFF_ISSUER", "SKIFF_JWKS"],
            Function::Jobs => &[
                "SKIFF_TABLE",
                "SKIFF_ISSUER",
                "SKIFF_JWKS",
                "SKIFF_JOBS_QUEUE_URL",
            ],
            Function::Account => &[
                "SKIFF_TABLE",
                "SKIFF_ISSUER",
                "SKIFF_JWKS",
                "SKIFF_DELETION_STATE_MACHINE_ARN",
                "SKIFF_EVENTS_TOPIC_ARN",
            ],
            Function::Worker | Function::Workflow => {
                &["SKIFF_TABLE", "SKIFF_ISSUER", "SKIFF_EVENTS_TOPIC_ARN"]
            }
            Function::Notifier => &["SKIFF_TABLE", "SKIFF_ISSUER"],
        }
    }

    /// Every path this function serves; API Gateway must route exactly these to it.
    /// Queue consumers serve none.
    pub fn paths(self) -> Vec<&'static str> {
        let groups: &[&[&str]] = match self {
            Function::Login => &[api::paths::DISCOVERY, api::paths::AUTH],
            Function::Session => &[
                api::paths::HEALTH,
                api::paths::OPENAPI,
                api::paths::SESSIONS,
            ],
            Function::Jobs => &[api::paths::JOBS],
            Function::Account => &[api::paths::ACCOUNT],
            Function::Worker | Function::Notifier | Function::Workflow | Function::App => &[],
        };
        groups.iter().flat_map(|g| g.iter().copied()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a function's init failed.
pub enum LambdaError {
    #[error(transparent)]
    /// A bad setting.
    Config(#[from] crate::config::ConfigError),
    #[error("signing keys: {0}")]
    /// Unusable signing keys.
    Keys(String),
    #[error("AWS: {0}")]
    /// An AWS call at init failed.
    Aws(String),
    #[error(transparent)]
    /// The app could not be built.
    App(#[from] crate::Error),
    #[error("{0:?} consumes a queue and serves no HTTP routes")]
    /// A queue consumer asked for a Router.
    NotHttp(Function),
}

/// Builds a function's Router with explicit config and SDK settings (the binaries use
/// `run_login` / `run_session`; tests point these settings at moto).
pub async fn build_with(
    function: Function,
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    match function {
        Function::Login => build_login(config, sdk).await,
        Function::Session => build_session(config, sdk).await,
        Function::Jobs => build_jobs(config, sdk).await,
        Function::Account => build_account(config, sdk).await,
        Function::Worker | Function::Notifier | Function::Workflow | Function::App => {
            Err(LambdaError::NotHttp(function))
        }
    }
}

/// Separate builders (and entry points) per function, so each binary references
/// only its own clients and LTO drops the rest: no SSM client in login, no Secrets
/// Manager client or password hasher in session.
async fn build_login(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    let stores = stores(config, sdk).await?;
    let secret = config
        .signing_keys_secret
        .as_deref()
        .ok_or_else(|| missing("SKIFF_SIGNING_KEYS_SECRET"))?;
    let keys = keys::load_private_keys(sdk, secret).await?;
    let credentials = credential_check(&stores, &config.auth)?;
    let parts = vec![
        discovery_part(keys.public_keys(), &config.auth),
        auth_part(&stores, &keys, &config.auth, credentials),
    ];
    Ok(finish(parts, config))
}

async fn build_session(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    let keys = public_keys(config)?;
    let stores = stores(config, sdk).await?;
    let federated = !config.auth.federated_issuers.is_empty();
    let parts = vec![
        Part::health(),
        openapi_part(&config.auth, federated, None)?,
        sessions_part(&stores, &keys, &config.auth),
    ];
    Ok(finish(parts, config))
}

async fn build_jobs(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    let keys = public_keys(config)?;
    let queue_url = required(&config.jobs_queue_url, "SKIFF_JOBS_QUEUE_URL")?;
    let queue = SqsJobQueue::new(lazy(sdk, aws_sdk_sqs::Client::new), queue_url);
    let stores = stores(config, sdk).await?;
    let part = jobs_part(
        &stores,
        Arc::new(queue),
        JobRegistry::builtin(),
        &keys,
        &config.auth,
    );
    Ok(finish(vec![part], config))
}

async fn build_account(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    let keys = public_keys(config)?;
    let arn = required(
        &config.deletion_state_machine_arn,
        "SKIFF_DELETION_STATE_MACHINE_ARN",
    )?;
    let topic = required(&config.events_topic_arn, "SKIFF_EVENTS_TOPIC_ARN")?;
    let workflow = SfnDeletionWorkflow::new(lazy(sdk, aws_sdk_sfn::Client::new), arn);
    let events = SnsEventPublisher::new(lazy(sdk, aws_sdk_sns::Client::new), topic);
    let stores = stores(config, sdk).await?;
    let credentials = credential_check(&stores, &config.auth)?;
    let part = account_part(
        &stores,
        Arc::new(events),
        Arc::new(workflow),
        credentials,
        &keys,
        &config.auth,
        &config.work,
    );
    Ok(finish(vec![part], config))
}

fn public_keys(config: &LambdaConfig) -> Result<crate::auth::PublicKeys, LambdaError> {
    let jwks = required(&config.jwks, "SKIFF_JWKS")?;
    keys::parse_public_keys(jwks)
}

fn required<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, LambdaError> {
    value.as_deref().ok_or_else(|| missing(name))
}

pub(super) async fn stores(
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Stores, LambdaError> {
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        config.table.as_str(),
        config.auth.session.absolute_lifetime,
    );
    if config.warm_up {
        warm_up(&store).await;
    }
    let password = match &config.session_store_auth_secret {
        Some(secret) => Some(keys::read_secret(sdk, secret).await?),
        None => None,
    };
    crate::hosts::with_session_store(
        Stores::from_one(store),
        &config.session_store,
        config.auth.session,
        password.as_deref(),
    )
    .map_err(|e| LambdaError::Aws(format!("session store: {e}")))
}

/// A client of a service that not every request uses, made at its first use (see
/// `LazyClient` for what that saves a cold start).
pub(super) fn lazy<C: 'static>(
    sdk: &aws_types::SdkConfig,
    make: fn(&aws_types::SdkConfig) -> C,
) -> LazyClient<C> {
    let sdk = sdk.clone();
    LazyClient::new(move || make(&sdk))
}

fn finish(parts: Vec<Part>, config: &LambdaConfig) -> Router {
    api::router(parts, config.http.clone())
        .layer(axum::middleware::map_request(request_id_from_lambda))
        .layer(axum::middleware::map_request(client_from_api_gateway))
}

/// API Gateway's `requestContext.http.sourceIp`: the address that connected to
/// API Gateway, whatever `X-Forwarded-For` the client sent.
async fn client_from_api_gateway(mut request: Request) -> Request {
    let client = match request.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context
            .http
            .source_ip
            .as_deref()
            .map_or(ClientAddress::Unknown, ClientAddress::parse),
        _ => ClientAddress::Unknown,
    };
    request.extensions_mut().insert(client);
    request
}

pub(super) fn missing(name: &'static str) -> LambdaError {
    LambdaError::Config(crate::config::ConfigError::missing(
        name,
        "is required by this function",
    ))
}

/// The login binary's entry point.
pub fn run_login() -> Result<(), lambda_http::Error> {
    runtime()?.block_on(serve(Function::Login, build_login))
}

/// The session binary's entry point.
pub fn run_session() -> Result<(), lambda_http::Error> {
    runtime()?.block_on(serve(Function::Session, build_session))
}

/// The jobs binary's entry point.
pub fn run_jobs() -> Result<(), lambda_http::Error> {
    runtime()?.block_on(serve(Function::Jobs, build_jobs))
}

/// A function serving only `app`'s routes, behind the contract's middleware, with
/// Skiff's init: `SKIFF_TABLE`, `SKIFF_ISSUER` and `SKIFF_JWKS` as the session
/// function has them, plus `SKIFF_JOBS_QUEUE_URL` when the app has job kinds of its
/// own. API Gateway routes the app's paths to it; Skiff's functions serve the rest.
pub fn run_app_http(app: App) -> Result<(), lambda_http::Error> {
    runtime()?.block_on(serve(Function::App, async move |config, sdk| {
        build_app(&app, config, sdk).await
    }))
}

/// Builds an app function's Router (what `run_app_http` serves; tests point the
/// settings at moto).
pub async fn build_app(
    app: &App,
    config: &LambdaConfig,
    sdk: &aws_types::SdkConfig,
) -> Result<Router, LambdaError> {
    let keys = public_keys(config)?;
    let stores = stores(config, sdk).await?;
    let queue: Arc<dyn crate::ports::JobQueue> = match config.jobs_queue_url.as_deref() {
        Some(url) => Arc::new(SqsJobQueue::new(lazy(sdk, aws_sdk_sqs::Client::new), url)),
        None if app.has_own_job_kinds() => return Err(missing("SKIFF_JOBS_QUEUE_URL")),
        None => Arc::new(NoJobQueue),
    };
    let context = app_context(
        &stores,
        &keys,
        &config.auth,
        job_service(&stores, queue, app.registry().clone()),
    );
    Ok(finish(vec![app_part(app, &context)], config))
}

/// The queue of an app function that submits no jobs: a submission is a bug in
/// the app, answered 503 and logged.
struct NoJobQueue;

#[async_trait::async_trait]
impl crate::ports::JobQueue for NoJobQueue {
    async fn enqueue(&self, _: &crate::ports::JobMessage) -> Result<(), crate::ports::StoreError> {
        Err(crate::ports::StoreError::message(
            "this function has no job queue (SKIFF_JOBS_QUEUE_URL is unset)",
        ))
    }
}

/// The account binary's entry point.
pub fn run_account() -> Result<(), lambda_http::Error> {
    runtime()?.block_on(serve(Function::Account, build_account))
}

pub use sqs::{
    handle_batch, run_notifier, run_notifier_with, run_worker, run_worker_with, run_workflow,
};

/// Lambda hands an execution environment one event at a time, so one thread runs
/// the async work (requests to the backend still overlap) and one blocking thread
/// runs Argon2. A multi-threaded runtime would start a worker thread per vCPU at
/// every cold start for nothing.
pub(super) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let concurrency = aws_env::max_concurrency(&crate::config::Env::process())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut builder = if concurrency > 1 {
        // Many invocations at once (Lambda Managed Instances): their CPU work
        // (token checks, JSON) spreads over the environment's vCPUs.
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(cores);
        builder
    } else {
        // One invocation at a time: a second thread would only slow the cold start.
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        // Blocking threads start on demand: the password hashes that run at once
        // (bounded by SKIFF_HASH_CONCURRENCY) each get one, up to one per core.
        .max_blocking_threads(cores)
        .build()
}

/// JSON logs, init, then the runtime loop. An init failure is logged and returned,
/// so Lambda reports an init error. `lambda_http::Error` is
/// `Box<dyn Error + Send + Sync>`, so binaries need no lambda_http import.
async fn serve(
    function: Function,
    build: impl AsyncFnOnce(&LambdaConfig, &aws_types::SdkConfig) -> Result<Router, LambdaError>,
) -> Result<(), lambda_http::Error> {
    let (router, config) = init(function, build).await?;
    // The classic loop unless AWS_LAMBDA_MAX_CONCURRENCY > 1. Every invocation runs
    // the Router on its own request: its ids live in that request's extensions and
    // span, never in globals.
    lambda_http::run_concurrent(buffered(
        router,
        metrics::install(&config.metrics, &config.function_name),
        config.function_name.clone(),
    ))
    .await
}

/// The Router with its response bodies collected into one chunk. lambda_http's
/// concurrent loop moves responses between threads by reference, so it wants a body
/// that is `Sync`, which axum's streaming body is not. A Lambda response is buffered
/// whole before it is sent anyway; this only does it one step earlier.
fn buffered(
    router: Router,
    metrics: Option<crate::telemetry::emf::EmfRecorder>,
    function_name: String,
) -> impl tower::Service<
    lambda_http::Request,
    Response = axum::http::Response<http_body_util::Full<bytes::Bytes>>,
    Error = lambda_http::Error,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    tower::service_fn(move |request: lambda_http::Request| {
        let (router, metrics) = (router.clone(), metrics.clone());
        let properties = request
            .lambda_context_ref()
            .map(metrics::properties)
            .unwrap_or_default();
        let invocation = async move {
            let (parts, body) = router.oneshot(request).await?.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok(axum::http::Response::from_parts(
                parts,
                http_body_util::Full::new(bytes),
            ))
        };
        // The document is written before the response goes back to Lambda.
        invocation::scoped(metrics, properties, invocation)
            .instrument(invocation::span(&function_name))
    })
}

/// What every function does first: JSON logs, its config and the SDK settings, then
/// its own `build`; any failure is logged naming the function.
pub(super) async fn init<T>(
    function: Function,
    build: impl AsyncFnOnce(&LambdaConfig, &aws_types::SdkConfig) -> Result<T, LambdaError>,
) -> Result<(T, LambdaConfig), LambdaError> {
    let built = async {
        crate::telemetry::init()?;
        let config = LambdaConfig::from_env()?;
        let sdk = AwsEnv::from_env()?.sdk_config();
        let built = build(&config, &sdk).await?;
        Ok((built, config))
    }
    .await;
    built.inspect_err(|e| tracing::error!(error = %e, ?function, "init failed"))
}

/// One cheap read during init opens the DynamoDB connection (DNS, TCP, TLS), so the
/// first request does not pay the handshake. The trade-off: init takes one round trip
/// longer, and a read capacity unit is spent per cold start (`SKIFF_WARM_UP=false`
/// turns it off). A failure here only
/// logs: the function still starts, and requests report the backend as unavailable.
async fn warm_up(store: &DynamoStore) {
    let read = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S("WARMUP".into()))
        .key("sk", AttributeValue::S("WARMUP".into()))
        .send();
    match tokio::time::timeout(Duration::from_secs(2), read).await {
        Ok(Ok(_)) => tracing::debug!("dynamodb connection warmed"),
        Ok(Err(e)) => {
            tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "dynamodb warm-up failed")
        }
        Err(_) => tracing::warn!("dynamodb warm-up timed out"),
    }
}

/// Uses the Lambda request id as `x-request-id` when the caller sent none, so log
/// lines join up with CloudWatch's REPORT lines.
async fn request_id_from_lambda(mut request: Request) -> Request {
    if !request.headers().contains_key("x-request-id")
        && let Some(id) = request
            .lambda_context_ref()
            .and_then(|context| HeaderValue::from_str(&context.request_id).ok())
    {
        request.headers_mut().insert("x-request-id", id);
    }
    request
}
