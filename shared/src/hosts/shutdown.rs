//! Graceful shutdown for the hosts that run their own HTTP server (local, Azure):
//! Ctrl-C or SIGTERM stops accepting, and in-flight requests finish.

use std::future::Future;

/// Registers for Ctrl-C and SIGTERM now, and resolves when one arrives. Call it
/// before announcing that the server listens: a signal sent between the two would
/// otherwise find no handler, and end the process abruptly or, where the parent
/// ignores SIGINT (a script's background job), not at all.
pub(crate) fn signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let stop = {
        use tokio::signal::unix::{SignalKind, signal};
        // `signal` installs the handler when called, not when first polled.
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let wait = |registered: std::io::Result<tokio::signal::unix::Signal>| async move {
                match registered {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    };
    #[cfg(not(unix))]
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    async move {
        stop.await;
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
