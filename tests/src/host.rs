use std::path::Path;
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::Duration;

use crate::aws_local::{AwsLocal, AwsStack};
use crate::azure_local::{AzureApp, AzureLocal, AzureNames};
use crate::local::{LocalServer, cart_local_binary};
use crate::tokens::TestKey;
use crate::{PASSWORD, unique_email};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The key every host in this test process signs with, so tests can forge tokens
/// that differ from real ones in exactly one way.
pub fn shared_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(TestKey::generate)
}

/// What `SKIFF_LOG` the hosts run with: `SKIFF_TEST_LOG`, else errors only.
pub(crate) fn test_log_level() -> String {
    std::env::var("SKIFF_TEST_LOG").unwrap_or_else(|_| "error".into())
}

/// Settings every host of the run gets: `SKIFF_TEST_SESSION_STORE` (and
/// `SKIFF_TEST_SESSION_STORE_CLUSTER`) become the hosts' `SKIFF_SESSION_STORE`, so
/// the whole suite runs with sessions on Redis. Each host gets its own key prefix
/// on the one Redis, as separate deployments would, so that one test's login
/// throttles never lock another's client. A test's own settings come after these
/// and win.
pub(crate) fn run_settings() -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = [
        ("SKIFF_TEST_SESSION_STORE", "SKIFF_SESSION_STORE"),
        (
            "SKIFF_TEST_SESSION_STORE_CLUSTER",
            "SKIFF_SESSION_STORE_CLUSTER",
        ),
    ]
    .into_iter()
    .filter_map(|(from, to)| std::env::var(from).ok().map(|v| (to.to_owned(), v)))
    .collect();
    if !settings.is_empty() {
        settings.push((
            "SKIFF_SESSION_STORE_KEY_PREFIX".into(),
            format!("skiff:test-{}", uuid::Uuid::new_v4().simple()),
        ));
    }
    settings
}

/// Which host the suite runs against: `SKIFF_TEST_HOST` = `local` (the default),
/// `aws-local` (the Lambda functions on moto, as `make aws-local` runs them) or
/// `azure-local` (the custom handler under the host emulator on Azurite).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostKind {
    Local,
    AwsLocal,
    AzureLocal,
}

impl HostKind {
    pub(crate) fn from_env() -> Self {
        match std::env::var("SKIFF_TEST_HOST").as_deref() {
            Err(_) | Ok("local") => HostKind::Local,
            Ok("aws-local") => HostKind::AwsLocal,
            Ok("azure-local") => HostKind::AzureLocal,
            Ok(other) => {
                panic!("SKIFF_TEST_HOST={other:?}: expected local, aws-local or azure-local")
            }
        }
    }
}

enum Process {
    Local(LocalServer),
    AwsLocal(AwsLocal),
    AzureLocal(AzureLocal),
}

/// A running Skiff host of the kind `SKIFF_TEST_HOST` names, reached over HTTP only.
/// Its processes are killed when it is dropped.
pub struct TestHost {
    pub base_url: String,
    pub client: Client,
    pub key: &'static TestKey,
    pub issuer: String,
    pub audience: String,
    process: Process,
    metrics_url: Option<String>,
    ingestion: Option<crate::IngestionEndpoint>,
    log_dir: Option<tempfile::TempDir>,
}

impl TestHost {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a host with extra settings (short timeouts, say), signing with
    /// `shared_key()`.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        Self::start_with_keys(&[shared_key()], env)
    }

    /// Starts a host that publishes `keys` (oldest first) and signs with the last.
    pub fn start_with_keys(keys: &[&TestKey], env: &[(&str, &str)]) -> Self {
        let env = owned(env);
        let process = match HostKind::from_env() {
            HostKind::Local => Process::Local(LocalServer::start(keys, &env)),
            HostKind::AwsLocal => Process::AwsLocal(AwsLocal::start(keys, &env)),
            HostKind::AzureLocal => Process::AzureLocal(AzureLocal::start(keys, &env)),
        };
        Self::new(process, &env)
    }

    /// The cart example (`examples/cart`) on the host `SKIFF_TEST_HOST` names:
    /// `cart-local`, its SAM template in emulated AWS, or its Functions app.
    pub fn start_cart() -> Self {
        Self::start_cart_with(&[])
    }

    /// The cart example with extra settings (a short access-token lifetime, say).
    pub fn start_cart_with(env: &[(&str, &str)]) -> Self {
        let keys = [shared_key()];
        let env = owned(env);
        let process = match HostKind::from_env() {
            HostKind::Local => {
                Process::Local(LocalServer::start_binary(cart_local_binary(), &keys, &env))
            }
            HostKind::AwsLocal => {
                Process::AwsLocal(AwsLocal::start_stack(AwsStack::CART, &keys, &env))
            }
            HostKind::AzureLocal => {
                Process::AzureLocal(AzureLocal::start_app(AzureApp::CART, &keys, &env))
            }
        };
        Self::new(process, &env)
    }

    /// Emulated AWS with `denied` (`function:action`) taken out of those functions'
    /// policies, for tests that IAM is enforced.
    pub fn aws_denying(denied: &[&str]) -> Self {
        Self::new(
            Process::AwsLocal(AwsLocal::start_denying(&[shared_key()], &[], denied)),
            &[],
        )
    }

    /// The Azure app whatever `SKIFF_TEST_HOST` says, for tests of the host emulator.
    pub fn azure_with(env: &[(&str, &str)]) -> Self {
        let env = owned(env);
        Self::new(
            Process::AzureLocal(AzureLocal::start(&[shared_key()], &env)),
            &env,
        )
    }

    /// The storage names of an Azure app host.
    pub fn azure_names(&self) -> AzureNames {
        match &self.process {
            Process::AzureLocal(app) => app.names.clone(),
            _ => panic!("not an Azure app host"),
        }
    }

    /// A host whose metrics the test reads: the local server with `GET /metrics` on
    /// a port of its own, emulated AWS, whose functions write EMF to stdout, or the
    /// Azure app sending to an ingestion endpoint every second.
    pub fn start_measured() -> Self {
        match HostKind::from_env() {
            HostKind::Local => {
                let listen = format!("127.0.0.1:{}", crate::free_port());
                let mut host = Self::start_with(&[("SKIFF_METRICS_LISTEN", &listen)]);
                host.metrics_url = Some(format!("http://{listen}/metrics"));
                host
            }
            HostKind::AwsLocal => Self::start(),
            HostKind::AzureLocal => {
                let ingestion = crate::IngestionEndpoint::start();
                let connection = ingestion.connection_string();
                let mut host = Self::start_with(&[
                    ("APPLICATIONINSIGHTS_CONNECTION_STRING", &connection),
                    ("SKIFF_METRICS_INTERVAL", "1s"),
                ]);
                host.ingestion = Some(ingestion);
                host
            }
        }
    }

    /// What the Azure app has sent to its Application Insights endpoint so far.
    pub fn app_insights_envelopes(&self) -> Option<Vec<serde_json::Value>> {
        self.ingestion
            .as_ref()
            .map(crate::IngestionEndpoint::envelopes)
    }

    /// A host whose log lines the test reads: at `info`, each process's stderr in
    /// a file of its own (see `log_lines`).
    pub fn start_logged() -> Self {
        let dir = tempfile::tempdir().expect("log dir");
        let path = dir.path().display().to_string();
        let mut host = Self::start_with(&[("SKIFF_LOG", "info"), (crate::LOG_DIR_SETTING, &path)]);
        host.log_dir = Some(dir);
        host
    }

    /// The JSON log lines the host's processes have written so far, each with the
    /// name of the process that wrote it (`skiff-local`, a Lambda function's name
    /// and instance, `azure-app`). Lines that are not JSON (the emulators' own)
    /// are left out.
    pub fn log_lines(&self) -> Vec<(String, serde_json::Value)> {
        let dir = self
            .log_dir
            .as_ref()
            .expect("a host started with start_logged");
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(dir.path()).expect("log dir") {
            let path = entry.expect("log dir entry").path();
            let Some(process) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("log file");
            lines.extend(
                text.lines()
                    .filter_map(|line| serde_json::from_str(line).ok())
                    .map(|line| (process.to_owned(), line)),
            );
        }
        lines
    }

    /// The local server's `GET /metrics` text (Prometheus exposition format).
    pub async fn prometheus_text(&self) -> Option<String> {
        let url = self.metrics_url.as_ref()?;
        let response = self.client.get(url).send().await.expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::OK, "GET /metrics");
        Some(response.text().await.expect("metrics text"))
    }

    /// Emulated AWS's functions' stdout lines so far, each with its function's name.
    pub fn function_stdout(&self) -> Option<Vec<(String, String)>> {
        match &self.process {
            Process::AwsLocal(stack) => Some(stack.function_stdout()),
            _ => None,
        }
    }

    /// The local server whatever `SKIFF_TEST_HOST` says, for tests of that process.
    pub fn local_with(env: &[(&str, &str)]) -> Self {
        let env = owned(env);
        Self::new(
            Process::Local(LocalServer::start(&[shared_key()], &env)),
            &env,
        )
    }

    fn new(process: Process, env: &[(String, String)]) -> Self {
        let base_url = match &process {
            Process::Local(server) => server.base_url.clone(),
            Process::AwsLocal(stack) => stack.base_url.clone(),
            Process::AzureLocal(app) => app.base_url.clone(),
        };
        let issuer = env
            .iter()
            .find(|(k, _)| k == "SKIFF_ISSUER")
            .map_or_else(|| base_url.clone(), |(_, v)| v.clone());
        Self {
            issuer,
            audience: "skiff".into(),
            base_url,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            key: shared_key(),
            process,
            metrics_url: None,
            ingestion: None,
            log_dir: None,
        }
    }

    fn local_server(&mut self) -> &mut LocalServer {
        match &mut self.process {
            Process::Local(server) => server,
            Process::AwsLocal(_) | Process::AzureLocal(_) => {
                panic!("only the local server is a single restartable process")
            }
        }
    }

    /// Stops the local server with SIGINT (Ctrl-C) and waits for it to exit.
    pub fn interrupt(&mut self) -> ExitStatus {
        self.local_server().interrupt()
    }

    /// Restarts the local server on the same data directory, now signing with its
    /// own persisted development key.
    pub fn restart_with_dev_key(&mut self) {
        let server = self.local_server();
        server.restart_with_dev_key();
        self.base_url = server.base_url.clone();
    }

    /// Kills the local server mid-work (SIGKILL) and starts it again on its data.
    pub fn kill_and_restart(&mut self) {
        let server = self.local_server();
        server.kill_and_restart();
        self.base_url = server.base_url.clone();
    }

    /// The local server's peak resident set so far, in KiB.
    pub fn peak_rss_kib(&mut self) -> u64 {
        self.local_server().peak_rss_kib()
    }

    pub fn data_dir(&mut self) -> &Path {
        self.local_server().data_dir()
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

    /// GETs `path` with a bearer token, asserts 200 and returns the JSON body.
    pub async fn get_json_auth(&self, path: &str, token: &str) -> Value {
        let response = self.get_auth(path, token).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// POSTs a JSON body with a bearer token.
    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("send")
    }

    /// `DELETE /account` with a bearer token and, when given, a JSON body (the
    /// contract asks for `{"password"}`).
    pub async fn delete_account(&self, token: &str, body: Option<&Value>) -> Response {
        let request = self.request(Method::DELETE, "/account").bearer_auth(token);
        match body {
            Some(body) => request.json(body),
            None => request,
        }
        .send()
        .await
        .expect("send")
    }

    /// The caller's notifications of `kind`, newest first.
    pub async fn notifications_of(&self, token: &str, kind: &str) -> Vec<Value> {
        let body = self.get_json_auth("/notifications", token).await;
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|n| n["type"] == kind)
            .cloned()
            .collect()
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/auth/register",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// A client whose requests come from the loopback address `source` (any of
    /// 127.0.0.0/8), so each looks like a different client to the throttles.
    pub fn client_from(&self, source: &str) -> Client {
        Client::builder()
            .timeout(Duration::from_secs(30))
            .local_address(
                source
                    .parse::<std::net::IpAddr>()
                    .expect("a loopback address"),
            )
            .build()
            .expect("client")
    }

    /// `POST /auth/login` from the loopback address `source`.
    pub async fn login_from(&self, source: &str, email: &str, password: &str) -> Response {
        self.client_from(source)
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("send")
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

/// A registered, logged-in user.
#[derive(Clone, Debug)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
}

fn owned(env: &[(&str, &str)]) -> Vec<(String, String)> {
    env.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
