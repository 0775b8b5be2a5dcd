//! Starting the custom handler as the host does: the executable from host.json,
//! `FUNCTIONS_CUSTOMHANDLER_PORT` set, and `GET /` polled until it answers.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// How long the handler may take to answer its first probe.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    #[error("no free port or file descriptor: {0}")]
    Port(std::io::Error),
    #[error("the handler exited before it answered ({0})")]
    Exited(std::process::ExitStatus),
    #[error("the handler did not answer GET / within {0:?}")]
    Timeout(Duration),
}

pub struct Handler {
    pub port: u16,
    pub child: Child,
}

fn stderr() -> Result<Stdio, StartError> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(StartError::Port)?;
    Ok(Stdio::from(fd))
}

fn free_port() -> Result<u16, StartError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(StartError::Port)?;
    Ok(listener.local_addr().map_err(StartError::Port)?.port())
}

impl Handler {
    /// Starts `executable` in `dir` with the emulator's own environment (the app
    /// settings) plus `env`, and waits until it answers.
    pub async fn start(
        executable: &Path,
        dir: &Path,
        env: &[(String, String)],
    ) -> Result<Self, StartError> {
        let port = free_port()?;
        let mut child = Command::new(executable)
            .current_dir(dir)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            // The handler's output is log output: it goes to our stderr, so our
            // stdout (whose first line is the URL) is ours alone.
            .stdout(stderr()?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: executable.display().to_string(),
                source,
            })?;
        let probe = reqwest::Client::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartError::Exited(status));
            }
            // Any answer counts: the host only waits for the server to be up.
            if probe
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .await
                .is_ok()
            {
                return Ok(Self { port, child });
            }
            if Instant::now() > deadline {
                return Err(StartError::Timeout(START_TIMEOUT));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
