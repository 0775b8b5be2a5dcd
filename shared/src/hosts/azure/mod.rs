//! The Azure Functions host: one custom-handler binary. The host forwards HTTP
//! requests at their original path (`enableForwardingHttpRequest`, `routePrefix`
//! ""), which the shared contract Router serves, and invokes the queue-triggered
//! functions at `/{FunctionName}` (see `triggers`). State is in Azure Table
//! storage, work in Storage Queues; the deletion workflow is queue-chained steps.

mod config;
mod metrics;
mod outputs;
mod protocol;
mod sealed_messages;
mod triggers;
mod whole_bodies;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpListener;

pub use config::{AzureConfig, StorageNames};
pub use outputs::BindingOutputs;
pub use protocol::{InvocationRequest, InvocationResponse};
pub use sealed_messages::MessageSeal;
pub use triggers::{
    EVENTS_BINDING, FUNCTIONS, NOTIFIER, QueueFunctions, STEPS_BINDING, TRIGGER_BINDING, WORKER,
    WORKFLOW, outputs_of, queue_setting, router as queue_functions_router,
};

use crate::adapters::azure::{StorageClient, StorageQueue, Table, TableStore};
use crate::app::App;
use crate::auth::{KeyError, KeyRing};
use crate::config::ConfigError;
use crate::hosts::chained::{ChainedQueues, MessageSink};
use crate::hosts::{Backend, build_router, job_context, notifier};
use crate::ports::{StoreError, Stores};
use sealed_messages::SealedSink;

#[derive(Debug, thiserror::Error)]
/// Why the Azure handler did not start or stopped.
pub enum AzureError {
    #[error("configuration: {0}")]
    /// A bad setting.
    Config(#[from] ConfigError),
    #[error("signing keys: {0}")]
    /// Unusable signing keys.
    Keys(#[from] KeyError),
    #[error("storage: {0}")]
    /// Storage refused to start.
    Store(#[from] StoreError),
    #[error(transparent)]
    /// The app could not be built.
    App(#[from] crate::Error),
    #[error("cannot listen on {addr}: {source}")]
    /// The port could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    /// The server failed.
    Serve(std::io::Error),
    #[error("metrics: the HTTPS client: {0}")]
    /// The metrics sink's HTTPS client could not be built.
    Metrics(std::io::Error),
}

#[async_trait]
impl MessageSink for StorageQueue {
    async fn send(&self, body: String, delay: Duration) -> Result<(), StoreError> {
        StorageQueue::send(self, &body, delay).await
    }
}

/// The storage the handler works on, from its settings.
pub struct AzureStorage {
    /// Every store port.
    pub table: Table,
    /// The worker's queue.
    pub jobs: StorageQueue,
    /// The notifier's queue.
    pub events: StorageQueue,
    /// The deletion steps' queue.
    pub steps: StorageQueue,
}

impl AzureStorage {
    /// The named storage of `client`'s account.
    pub fn new(client: &StorageClient, names: &StorageNames) -> Self {
        let queue = |name: &str| StorageQueue::new(client.clone(), name);
        Self {
            table: Table::new(client.clone(), names.table.as_str()),
            jobs: queue(&names.jobs_queue),
            events: queue(&names.events_queue),
            steps: queue(&names.steps_queue),
        }
    }

    /// Creates the table, the queues and their poison queues unless they exist.
    pub async fn create_if_missing(&self) -> Result<(), StoreError> {
        self.table.create_if_missing().await?;
        for queue in [&self.jobs, &self.events, &self.steps] {
            queue.create_if_missing().await?;
            queue
                .sibling(&format!("{}-poison", queue.name()))
                .create_if_missing()
                .await?;
        }
        Ok(())
    }
}

/// Skiff's contract alone: [`run_app`] with [`App::new`].
pub async fn run() -> Result<(), AzureError> {
    run_app(App::new()).await
}

/// Reads the settings, builds clients and keys once, binds 127.0.0.1 on the port
/// the host chose, and serves the contract and `app` (routes, and its job kinds
/// and subscribers in the queue-triggered functions) until the host stops it
/// (SIGTERM).
pub async fn run_app(app: App) -> Result<(), AzureError> {
    let config = AzureConfig::from_env()?;
    let metrics = metrics::start(&config).map_err(AzureError::Metrics)?;
    let keys = KeyRing::from_secret(&config.signing_keys)?;
    let client = StorageClient::new(config.storage.clone())?;
    let storage = AzureStorage::new(&client, &config.names);
    if config.create_storage {
        storage.create_if_missing().await?;
    }
    let stores = crate::hosts::with_session_store(
        Stores::from_one(TableStore::new(storage.table.clone())),
        &config.session_store,
        config.auth.session,
        None,
    )?;
    let seal = MessageSeal::new(&keys);
    let sealed = |queue: &StorageQueue| -> Arc<dyn MessageSink> {
        Arc::new(SealedSink {
            inner: Arc::new(queue.clone()),
            seal: seal.clone(),
        })
    };
    let direct = ChainedQueues {
        jobs: sealed(&storage.jobs),
        events: sealed(&storage.events),
        steps: sealed(&storage.steps),
    };
    let context = job_context(&stores, &config.auth);
    let queue_functions = triggers::QueueFunctions {
        context: context.clone(),
        registry: app.registry().clone(),
        work: config.work,
        jobs: Arc::new(storage.jobs.clone()),
        notifier: notifier(context, &app),
        seal,
    };
    let router = build_router(
        Backend {
            stores,
            messaging: direct.messaging(),
            app: &app,
            keys: &keys,
            auth: &config.auth,
            work: &config.work,
        },
        config.http.clone(),
    )?
    .layer(axum::middleware::map_request(
        crate::hosts::client_address::from_functions_front_end,
    ))
    .layer(axum::middleware::from_fn_with_state(
        config.http.max_body_bytes,
        whole_bodies::read_whole_body,
    ))
    .merge(triggers::router(queue_functions));

    // Loopback only: the Functions host is the one client.
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| AzureError::Bind { addr, source })?;
    let stop = crate::hosts::shutdown::signal();
    tracing::info!(%addr, issuer = %config.auth.issuer, "custom handler listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
        .map_err(AzureError::Serve)?;
    metrics.finish().await;
    tracing::info!("stopped");
    Ok(())
}
