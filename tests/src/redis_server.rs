//! A `redis-server` of the test's own, to kill and restart: Debian's binary (on
//! `PATH`, or `SKIFF_TEST_REDIS_SERVER`), on a free loopback port, with an
//! append-only file fsynced on every write, the durability an acknowledged write
//! needs to survive a crash of the cache.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Killed when dropped.
pub struct RedisServer {
    pub url: String,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

fn binary() -> PathBuf {
    std::env::var_os("SKIFF_TEST_REDIS_SERVER").map_or_else(|| "redis-server".into(), PathBuf::from)
}

impl RedisServer {
    /// Starts a durable server on a free port.
    pub fn start() -> Self {
        let port = crate::free_port();
        let mut server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): run the tests with `make test`, which installs it")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the crash of the cache, nothing flushed beyond what was fsynced.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill redis-server");
            child.wait().expect("wait for redis-server");
        }
    }

    /// Starts it again on the same port and data, as a cache node coming back.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
