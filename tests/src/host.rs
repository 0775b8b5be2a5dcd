use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::tokens::TestKey;
use crate::{PASSWORD, unique_email};

/// The key every host in this test process signs with, so tests can forge tokens
/// that differ from real ones in exactly one way.
pub fn shared_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(TestKey::generate)
}

/// The local server binary: `SKIFF_LOCAL_BIN`, else the workspace's debug build.
fn local_binary() -> PathBuf {
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

/// A running `skiff-local` on a free loopback port with its own data directory.
/// Killed when dropped.
pub struct TestHost {
    pub base_url: String,
    pub client: Client,
    pub key: &'static TestKey,
    pub issuer: String,
    pub audience: String,
    child: Child,
    data_dir: TempDir,
    key_file: PathBuf,
    env: Vec<(String, String)>,
}

impl TestHost {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a host with extra environment variables (short timeouts, say).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let key_file = data_dir.path().join("test-signing-key.pem");
        std::fs::write(&key_file, &shared_key().private_pem).expect("write key");
        Self::spawn(data_dir, key_file, env, true)
    }

    fn spawn(data_dir: TempDir, key_file: PathBuf, env: &[(&str, &str)], with_key: bool) -> Self {
        let mut command = Command::new(local_binary());
        command
            .env_clear()
            .env("SKIFF_LISTEN", "127.0.0.1:0")
            .env("SKIFF_DATA_DIR", data_dir.path())
            .env(
                "SKIFF_LOG",
                std::env::var("SKIFF_TEST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if with_key {
            command.env("SKIFF_SIGNING_KEY_FILES", &key_file);
        }
        for (name, value) in env {
            command.env(name, value);
        }
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
        let issuer = env
            .iter()
            .find(|(k, _)| *k == "SKIFF_ISSUER")
            .map_or_else(|| base_url.clone(), |(_, v)| (*v).to_owned());
        Self {
            issuer,
            audience: "skiff".into(),
            base_url,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            key: shared_key(),
            child,
            data_dir,
            key_file,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Stops the process with SIGINT (Ctrl-C) and waits for it to exit.
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

    /// Stops this host and starts a new process on the same data directory with the
    /// same environment. `with_key: false` leaves signing to the host's persisted
    /// development key.
    pub fn restart(mut self, with_key: bool) -> Self {
        self.interrupt();
        let data_dir =
            std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let key_file = self.key_file.clone();
        let env = std::mem::take(&mut self.env);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::spawn(data_dir, key_file, &env, with_key)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// GETs `path`, asserts 200 and returns the JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.request(Method::GET, path).send().await.expect("send");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .expect("send")
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers a fresh account and logs it in.
    pub async fn account(&self) -> Account {
        let email = unique_email();
        let response = self.register(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "register");
        let user_id = response.json::<Value>().await.expect("json")["user_id"]
            .as_str()
            .expect("user_id")
            .to_owned();
        let tokens = self.login_ok(&email).await;
        Account {
            email,
            user_id,
            access_token: tokens["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh_token: tokens["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            session_id: tokens["session_id"]
                .as_str()
                .expect("session_id")
                .to_owned(),
        }
    }

    pub async fn login_ok(&self, email: &str) -> Value {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login");
        response.json().await.expect("json")
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
}
