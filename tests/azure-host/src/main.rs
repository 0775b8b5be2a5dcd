//! `skiff-azure-host`: a development emulator of the Azure Functions host for
//! Skiff's custom handler (the real host cannot be installed here). It reads the
//! function app (`infra/azure` by default), starts the handler as the host would,
//! forwards HTTP, runs the queue triggers against Azure Storage (Azurite), writes
//! output bindings, retries failures and moves poison messages aside.
//!
//! Settings: `AzureWebJobsStorage` (required), `SKIFF_LISTEN` (default
//! 127.0.0.1:7071), `SKIFF_AZURE_APP_DIR` (default infra/azure) and
//! `SKIFF_AZURE_HANDLER` (default: host.json's executable in the app folder);
//! `SKIFF_AZURE_VISIBILITY_TIMEOUT` (seconds) overrides host.json's retry delay.
//! Every other variable is an app setting, passed to the handler as it is.

mod app;
mod forward;
mod handler;
mod triggers;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use skiff::adapters::azure::{StorageAccount, StorageClient, StorageQueue};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use app::{FunctionApp, Trigger};
use forward::Forwarder;
use handler::Handler;
use triggers::QueueTrigger;

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn run() -> Result<(), String> {
    let dir = PathBuf::from(setting("SKIFF_AZURE_APP_DIR").unwrap_or_else(|| "infra/azure".into()));
    let mut app = FunctionApp::load(&dir, &setting).map_err(|e| e.to_string())?;
    if let Some(path) = setting("SKIFF_AZURE_HANDLER") {
        app.executable = PathBuf::from(path);
    }
    // Emulation only: a shorter retry delay than host.json's, so tests of retries
    // and poison messages do not wait minutes.
    if let Some(seconds) = setting("SKIFF_AZURE_VISIBILITY_TIMEOUT") {
        let seconds: u64 = seconds
            .parse()
            .map_err(|e| format!("SKIFF_AZURE_VISIBILITY_TIMEOUT: {e}"))?;
        app.queues.visibility_timeout = std::time::Duration::from_secs(seconds);
    }
    let mut handler_env = Vec::new();
    if setting("SKIFF_SIGNING_KEYS").is_none() {
        handler_env.push(("SKIFF_SIGNING_KEYS".to_owned(), development_key()?));
    }
    let storage = setting("AzureWebJobsStorage").ok_or("AzureWebJobsStorage is required")?;
    let account =
        StorageAccount::parse(&storage).map_err(|e| format!("AzureWebJobsStorage: {e}"))?;
    let storage = StorageClient::new(account).map_err(|e| e.to_string())?;
    let listen: SocketAddr = setting("SKIFF_LISTEN")
        .unwrap_or_else(|| "127.0.0.1:7071".into())
        .parse()
        .map_err(|e| format!("SKIFF_LISTEN: {e}"))?;

    // As the host does, the queues a function reads or writes exist before it runs.
    for function in &app.functions {
        let mut names: Vec<&str> = function.outputs.iter().map(|o| o.queue.as_str()).collect();
        if let Trigger::Queue { queue, .. } = &function.trigger {
            names.push(queue);
        }
        for name in names {
            StorageQueue::new(storage.clone(), name)
                .create_if_missing()
                .await
                .map_err(|e| format!("create queue {name}: {e}"))?;
        }
    }

    let mut handler = Handler::start(&app.executable, &app.dir, &handler_env)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://127.0.0.1:{}", handler.port);
    let client = reqwest::Client::new();

    let mut tasks = JoinSet::new();
    for function in &app.functions {
        let Trigger::Queue { binding, queue } = &function.trigger else {
            continue;
        };
        let trigger = QueueTrigger {
            function: function.clone(),
            binding: binding.clone(),
            queue: StorageQueue::new(storage.clone(), queue.as_str()),
            outputs: function
                .outputs
                .iter()
                .map(|o| {
                    (
                        o.binding.clone(),
                        StorageQueue::new(storage.clone(), o.queue.as_str()),
                    )
                })
                .collect(),
            settings: app.queues.clone(),
            handler: base.clone(),
            client: client.clone(),
        };
        tasks.spawn(Arc::new(trigger).run());
    }

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = axum::Router::new()
        .fallback(forward::forward)
        .with_state(Arc::new(Forwarder {
            app,
            handler: base,
            client,
        }));
    {
        // The first stdout line is the URL: people read it, test harnesses parse it.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "Skiff Azure host emulator listening on http://{addr}");
        let _ = out.flush();
    }
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        served = server => served.map_err(|e| e.to_string()),
        status = handler.child.wait() => Err(format!("the handler exited: {status:?}")),
        _ = terminate.recv() => Ok(()),
    }
}

/// A development signing key kept in `.skiff-data/azure-dev-key.pem`, made on
/// first use, as the local server does: tokens survive a restart.
fn development_key() -> Result<String, String> {
    let path = PathBuf::from(".skiff-data/azure-dev-key.pem");
    if let Ok(pem) = std::fs::read_to_string(&path) {
        return Ok(pem);
    }
    let pem = skiff::auth::generate_private_key_pem().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(".skiff-data").map_err(|e| format!(".skiff-data: {e}"))?;
    std::fs::write(&path, &pem).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "skiff-azure-host: SKIFF_SIGNING_KEYS unset; signing with the development key {}",
        path.display()
    );
    Ok(pem)
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = skiff::telemetry::init() {
        eprintln!("skiff-azure-host: {e}");
        return ExitCode::FAILURE;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("skiff-azure-host: {message}");
            ExitCode::FAILURE
        }
    }
}
