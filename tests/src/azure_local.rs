//! The Azure Functions app as a test host: `skiff-azure-host` (the host emulator)
//! running the real `skiff-azure` custom handler on Azurite, with its own table and
//! queues. This is `make azure-local` with the harness's keys and settings.
//!
//! The runner (`tests/run`) names Azurite and the binaries in variables:
//! `SKIFF_TEST_AZURE_STORAGE` (a connection string) and `SKIFF_AZURE_BIN_DIR`
//! (where `skiff-azure` and `skiff-azure-host` are).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::tokens::TestKey;

fn required_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run the Azure contract tests with `make test`")
    })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Names of one app's storage, unique per test host.
#[derive(Clone, Debug)]
pub struct AzureNames {
    pub table: String,
    pub jobs_queue: String,
    pub events_queue: String,
    pub steps_queue: String,
}

impl AzureNames {
    fn unique() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let short = &id[..12];
        Self {
            table: format!("t{id}"),
            jobs_queue: format!("jobs-{short}"),
            events_queue: format!("events-{short}"),
            steps_queue: format!("steps-{short}"),
        }
    }
}

/// A running emulator and handler. Killed when dropped.
pub struct AzureLocal {
    pub base_url: String,
    pub names: AzureNames,
    child: Child,
}

/// The Functions app an emulated host runs: its folder (host.json and the
/// function.json files) and its custom handler binary.
#[derive(Clone, Copy, Debug)]
pub struct AzureApp {
    pub dir: &'static str,
    pub handler: &'static str,
}

impl AzureApp {
    pub const SKIFF: AzureApp = AzureApp {
        dir: "infra/azure",
        handler: "skiff-azure",
    };
    pub const CART: AzureApp = AzureApp {
        dir: "examples/cart/azure",
        handler: "cart-azure",
    };
}

impl AzureLocal {
    pub fn start(keys: &[&TestKey], env: &[(String, String)]) -> Self {
        Self::start_app(AzureApp::SKIFF, keys, env)
    }

    pub fn start_app(app: AzureApp, keys: &[&TestKey], env: &[(String, String)]) -> Self {
        assert!(!keys.is_empty(), "the Azure app needs its signing keys");
        // A port picked here can be taken before the emulator binds it; try again then.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(app, keys, env) {
                Ok(app) => return app,
                Err(e) => last_error = e,
            }
        }
        panic!("the Azure host emulator did not start: {last_error}");
    }

    fn try_start(
        app: AzureApp,
        keys: &[&TestKey],
        env: &[(String, String)],
    ) -> Result<Self, String> {
        let bin_dir = PathBuf::from(required_var("SKIFF_AZURE_BIN_DIR"));
        let port = crate::free_port();
        let base_url = format!("http://127.0.0.1:{port}");
        let names = AzureNames::unique();
        let pems: Vec<&str> = keys.iter().map(|k| k.private_pem.as_str()).collect();
        let mut command = Command::new(bin_dir.join("skiff-azure-host"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "AzureWebJobsStorage",
                required_var("SKIFF_TEST_AZURE_STORAGE"),
            )
            .env("SKIFF_LISTEN", format!("127.0.0.1:{port}"))
            .env("SKIFF_AZURE_APP_DIR", workspace_root().join(app.dir))
            .env("SKIFF_AZURE_HANDLER", bin_dir.join(app.handler))
            // Emulation only: a failed message comes back after 1 s, not host.json's 10.
            .env("SKIFF_AZURE_VISIBILITY_TIMEOUT", "1")
            .env("SKIFF_ISSUER", &base_url)
            .env("SKIFF_SIGNING_KEYS", json!({ "keys": pems }).to_string())
            .env("SKIFF_CREATE_STORAGE", "true")
            .env("SKIFF_TABLE", &names.table)
            .env("SKIFF_JOBS_QUEUE", &names.jobs_queue)
            .env("SKIFF_EVENTS_QUEUE", &names.events_queue)
            .env("SKIFF_STEPS_QUEUE", &names.steps_queue)
            .env("SKIFF_LOG", crate::host::test_log_level())
            .envs(crate::host::run_settings())
            .envs(crate::host_settings(env))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(crate::stderr_for(env, "azure-app"));
        let mut child = command
            .spawn()
            .map_err(|e| format!("spawn skiff-azure-host: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut first_line = String::new();
        let read = stdout.read_line(&mut first_line);
        if read.is_err() || !first_line.contains("listening on") {
            let _ = child.kill();
            let status = child.wait().ok();
            return Err(format!(
                "emulator said {first_line:?} and exited with {status:?}"
            ));
        }
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Ok(Self {
            base_url,
            names,
            child,
        })
    }
}

impl Drop for AzureLocal {
    /// SIGTERM first, so the emulator stops its handler; SIGKILL if it lingers.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
