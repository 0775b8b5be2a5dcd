//! The all-in-one local server: the whole contract on an embedded SQLite store,
//! with no cloud, no Docker and no emulator.

mod config;
mod consumers;
mod dev_key;
mod messaging;

use std::io::{self, Write};

use tokio::net::TcpListener;

pub use config::LocalConfig;
pub use messaging::LocalQueues;

use crate::adapters::sqlite::{SqliteQueue, SqliteStore};
use crate::app::App;
use crate::auth::{KeyError, KeyRing};
use crate::hosts::{
    Backend, build_router, client_address, deletion_steps, job_context, job_worker, notifier,
    with_session_store,
};
use crate::ports::Stores;

#[derive(Debug, thiserror::Error)]
/// Why the local server did not start or stopped.
pub enum LocalError {
    #[error("cannot create the data directory {path}: {source}")]
    /// The data directory could not be created.
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: io::Error,
    },
    #[error("cannot open the database: {0}")]
    /// The database could not be opened.
    Store(#[from] crate::ports::StoreError),
    #[error("cannot read signing key {path}: {source}")]
    /// A signing key file could not be read.
    ReadKey {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    #[error("cannot write the development signing key {path}: {source}")]
    /// The development key could not be written.
    WriteKey {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    #[error("signing keys: {0}")]
    /// Unusable signing keys.
    Keys(#[from] KeyError),
    #[error("metrics: {0}")]
    /// The metrics recorder could not be installed.
    Metrics(String),
    #[error("cannot listen on {addr}: {source}")]
    /// The address could not be bound.
    Bind {
        /// `SKIFF_LISTEN`.
        addr: String,
        /// Why.
        source: io::Error,
    },
    #[error(transparent)]
    /// The app could not be built.
    App(#[from] crate::Error),
    #[error("server error: {0}")]
    /// The server failed.
    Serve(io::Error),
}

/// Skiff's contract alone: [`run_app`] with [`App::new`].
pub async fn run(config: LocalConfig) -> Result<(), LocalError> {
    run_app(config, App::new()).await
}

/// Opens the store, loads (or creates) the signing key, binds, prints how to reach
/// the server, and serves the contract and `app` (its routes, job kinds and
/// subscribers) until Ctrl-C or SIGTERM.
pub async fn run_app(mut config: LocalConfig, app: App) -> Result<(), LocalError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| LocalError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let store = SqliteStore::open(&config.data_dir.join("skiff.db"))?;
    let pems = dev_key::load_signing_keys(&config)?;
    let keys = KeyRing::from_private_pems(&pems)?;

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| LocalError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(LocalError::Serve)?;
    let base_url = format!("http://{addr}");
    if config.issuer_is_default {
        config.auth.issuer.clone_from(&base_url);
    }

    let queue = |name| SqliteQueue::new(store.clone(), name, config.queue);
    let queues = LocalQueues {
        jobs: queue("jobs"),
        events: queue("events"),
        steps: queue("deletion-steps"),
    };
    let stores = with_session_store(
        Stores::from_one(store.clone()),
        &config.session_store,
        config.auth.session,
        None,
    )?;
    let messaging = queues.chained().messaging();
    let context = job_context(&stores, &config.auth);
    // Dropping the set at the end of `run` stops the consumers; whatever they held
    // comes back after its visibility timeout at the next start.
    let _consumers = consumers::spawn(
        queues,
        job_worker(
            context.clone(),
            messaging.events.clone(),
            app.registry().clone(),
            &config.work,
        ),
        notifier(context, &app),
        deletion_steps(&stores, messaging.events.clone()),
        config.work.batch_concurrency,
    );
    let router = build_router(
        Backend {
            stores,
            messaging,
            app: &app,
            keys: &keys,
            auth: &config.auth,
            work: &config.work,
        },
        config.http.clone(),
    )?
    .layer(axum::middleware::map_request(client_address::from_peer(
        config.trusted_proxies.clone(),
    )));

    let stop = crate::hosts::shutdown::signal();
    let _metrics = match config.metrics_listen {
        Some(addr) => Some(serve_metrics(addr, &config.metrics).await?),
        None => None,
    };
    print_banner(&base_url, &config);
    tracing::info!(%base_url, issuer = %config.auth.issuer, "listening");

    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .map_err(LocalError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `addr` until the
/// returned task is dropped (with the server).
async fn serve_metrics(
    addr: std::net::SocketAddr,
    settings: &crate::telemetry::MetricsSettings,
) -> Result<AbortOnDrop, LocalError> {
    let handle = crate::telemetry::prometheus::install(settings).map_err(LocalError::Metrics)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| LocalError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let bound = listener.local_addr().map_err(LocalError::Serve)?;
    tracing::info!(metrics_url = %format!("http://{bound}/metrics"), "metrics listening");
    let router = crate::telemetry::prometheus::router(handle);
    Ok(AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    })))
}

/// A task that ends when its owner does.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The first stdout line is the URL: people read it, and test harnesses parse it.
/// Write errors are ignored: a closed stdout (`skiff-local | head -1`) must not
/// take the server down, as `println!` would.
fn print_banner(base_url: &str, config: &LocalConfig) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Skiff local server listening on {base_url}");
    let _ = writeln!(
        out,
        "Data in {}; stop with Ctrl-C.",
        config.data_dir.display()
    );
    let _ = writeln!(
        out,
        "Try: curl -si -X POST {base_url}/auth/register -H 'content-type: application/json' \
         -d '{{\"email\":\"you@example.com\",\"password\":\"correct horse battery staple\"}}'"
    );
    let _ = out.flush();
}
