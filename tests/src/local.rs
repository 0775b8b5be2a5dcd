//! The local all-in-one server as a test host: `skiff-local` on port 0 with its own
//! data directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::tokens::TestKey;

/// The local server binary: `SKIFF_LOCAL_BIN`, else the workspace's debug build.
pub fn local_binary() -> PathBuf {
    let path = std::env::var_os("SKIFF_LOCAL_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/skiff-local"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: build it first (`cargo build -p skiff-local`) or run `make test`",
        path.display()
    );
    path
}

/// The cart example's local server: `SKIFF_CART_LOCAL_BIN`, else the
/// workspace's debug build.
pub fn cart_local_binary() -> PathBuf {
    let path = std::env::var_os("SKIFF_CART_LOCAL_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/cart-local"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: build it first (`cargo build -p skiff-cart --features local`) or run `make test`",
        path.display()
    );
    path
}

/// A running `skiff-local` (or another app's local server). Killed when dropped.
pub struct LocalServer {
    pub base_url: String,
    binary: PathBuf,
    child: Child,
    data_dir: TempDir,
    env: Vec<(String, String)>,
}

impl LocalServer {
    /// Starts a server signing with `keys` (oldest first), or with its own
    /// persisted development key when `keys` is empty.
    pub fn start(keys: &[&TestKey], env: &[(String, String)]) -> Self {
        Self::start_binary(local_binary(), keys, env)
    }

    /// As `start`, running `binary` (an app built on Skiff's local host).
    pub fn start_binary(binary: PathBuf, keys: &[&TestKey], env: &[(String, String)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut env = env.to_vec();
        if !keys.is_empty() {
            let files: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, key)| {
                    let path = data_dir.path().join(format!("test-signing-key-{i}.pem"));
                    std::fs::write(&path, &key.private_pem).expect("write key");
                    path.display().to_string()
                })
                .collect();
            env.push(("SKIFF_SIGNING_KEY_FILES".into(), files.join(",")));
        }
        Self::spawn(binary, data_dir, env)
    }

    fn spawn(binary: PathBuf, data_dir: TempDir, env: Vec<(String, String)>) -> Self {
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("SKIFF_LISTEN", "127.0.0.1:0")
            .env("SKIFF_DATA_DIR", data_dir.path())
            .env("SKIFF_LOG", crate::host::test_log_level())
            .envs(crate::host::run_settings())
            .envs(crate::host_settings(&env))
            .stdout(Stdio::piped())
            .stderr(crate::stderr_for(&env, "skiff-local"));
        let mut child = command.spawn().expect("spawn skiff-local");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut first_line = String::new();
        stdout
            .read_line(&mut first_line)
            .expect("read the server's first line");
        // Keep draining so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let base_url = first_line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected first line from skiff-local: {first_line:?}"))
            .to_owned();
        Self {
            base_url,
            binary,
            child,
            data_dir,
            env,
        }
    }

    /// Stops the process with SIGINT (Ctrl-C) and waits for it to exit.
    /// The process's peak resident set (VmHWM), in KiB, from /proc.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    pub fn interrupt(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "skiff-local did not stop within 15 s of SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops this server and starts a new process on the same data directory with
    /// the same environment, minus any configured keys: signing falls back to the
    /// server's persisted development key.
    pub fn restart_with_dev_key(&mut self) {
        self.interrupt();
        let data_dir =
            std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let env = std::mem::take(&mut self.env)
            .into_iter()
            .filter(|(k, _)| k != "SKIFF_SIGNING_KEY_FILES")
            .collect();
        *self = Self::spawn(self.binary.clone(), data_dir, env);
    }

    /// Kills the process with SIGKILL (no chance to finish anything) and starts a
    /// new one on the same data directory with the same environment and keys.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("kill skiff-local");
        self.child.wait().expect("wait for skiff-local");
        let data_dir =
            std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let env = std::mem::take(&mut self.env);
        *self = Self::spawn(self.binary.clone(), data_dir, env);
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
