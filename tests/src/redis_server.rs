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
    tls: bool,
}

fn binary() -> PathBuf {
    std::env::var_os("SKIFF_TEST_REDIS_SERVER").map_or_else(|| "redis-server".into(), PathBuf::from)
}

impl RedisServer {
    /// Starts a durable server on a free port.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts a server that speaks TLS only (`rediss://localhost:<port>`), with a
    /// certificate for `localhost` from a CA of its own: [`Self::ca_file`].
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let port = crate::free_port();
        let url = if tls {
            format!("rediss://localhost:{port}")
        } else {
            format!("redis://127.0.0.1:{port}")
        };
        let mut server = Self {
            url,
            port,
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
            tls,
        };
        if tls {
            server.make_certificates();
        }
        server.spawn();
        server
    }

    /// The CA that signed the TLS server's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn make_certificates(&self) {
        let dir = self.dir.path();
        let openssl = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run openssl");
            assert!(status.success(), "openssl {args:?}");
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=skiff test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").expect("write");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ]);
    }

    fn spawn(&mut self) {
        let mut command = Command::new(binary());
        if self.tls {
            let file = |name: &str| self.dir.path().join(name);
            command
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-cert-file")
                .arg(file("server.pem"))
                .arg("--tls-key-file")
                .arg(file("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(file("ca.pem"))
                .args(["--tls-auth-clients", "no"]);
        } else {
            command.args(["--port", &self.port.to_string()]);
        }
        let child = command
            .args(["--bind", "127.0.0.1"])
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
