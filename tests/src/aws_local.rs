//! Emulated AWS as a test host: the template's resources provisioned in moto
//! (queues, topic and subscription, the Step Functions state machine, which moto
//! executes), every real Lambda binary polling `cargo lambda watch`'s Runtime API
//! as the principal its template policies describe (moto enforces IAM),
//! `infra/emulate/api_gateway.py` routing like the template's HTTP API as the one
//! base URL, and `infra/emulate/event_sources.py` doing what Lambda's SQS
//! event-source mappings do. This is `make aws-local` with the harness's keys and
//! settings.
//!
//! The runner (`tests/run`) names the peers and tools in variables:
//! `SKIFF_TEST_AWS_ENDPOINT` (moto), `SKIFF_TEST_TEMPLATE_JSON` (the decoded
//! template), `SKIFF_TEST_PYTHON` (a Python with boto3 and cryptography),
//! `SKIFF_TEST_CARGO_LAMBDA` (the cargo-lambda binary) and `SKIFF_LAMBDA_BIN_DIR`
//! (where the function binaries are).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::tokens::TestKey;

/// Functions that run as two instances. More than one where it matters, as on
/// Lambda under load: requests (and batches) land on different processes, so
/// races between them are real. Every other function runs once.
const TWO_INSTANCES: [&str; 6] = [
    "login",
    "session",
    "jobs",
    "worker",
    "cart-api",
    "cart-worker",
];

/// Which template a stack is provisioned from, and how to tell it is ready.
#[derive(Clone, Copy, Debug)]
pub struct AwsStack {
    /// The variable naming the decoded template (set by `tests/run`).
    template_var: &'static str,
    /// `GET path` → status, for a path each HTTP function serves: 200 where no
    /// token is needed, 401 where one is.
    probes: &'static [(&'static str, u16)],
}

const SKIFF_PROBES: [(&str, u16); 4] = [
    ("/health", 200),
    ("/.well-known/jwks.json", 200),
    ("/jobs", 401),
    ("/account/deletion/probe", 401),
];

impl AwsStack {
    /// `infra/template.yaml`.
    pub const SKIFF: AwsStack = AwsStack {
        template_var: "SKIFF_TEST_TEMPLATE_JSON",
        probes: &SKIFF_PROBES,
    };
    /// The cart example's template (`infra/cart/overlay.yaml` on Skiff's).
    pub const CART: AwsStack = AwsStack {
        template_var: "SKIFF_TEST_CART_TEMPLATE_JSON",
        probes: &[
            SKIFF_PROBES[0],
            SKIFF_PROBES[1],
            SKIFF_PROBES[2],
            SKIFF_PROBES[3],
            ("/cart", 401),
        ],
    };

    fn template(self) -> String {
        required_var(self.template_var)
    }

    /// The binaries of the template's functions, each with its instance count.
    fn functions(self) -> Vec<(String, usize)> {
        let text = std::fs::read_to_string(self.template()).expect("read the decoded template");
        let template: serde_json::Value = serde_json::from_str(&text).expect("template JSON");
        let mut functions: Vec<(String, usize)> = template["Resources"]
            .as_object()
            .expect("Resources")
            .values()
            .filter(|r| r["Type"] == "AWS::Serverless::Function")
            .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
            .map(|name| {
                let instances = if TWO_INSTANCES.contains(&name) { 2 } else { 1 };
                (name.to_owned(), instances)
            })
            .collect();
        functions.sort();
        functions
    }
}
/// Emulation only: failed messages come back after this many seconds instead of
/// the template's 60, so redelivery tests do not wait a minute per delivery.
const QUEUE_VISIBILITY_SECONDS: &str = "2";
/// Provisioning, init (moto reads, the Argon2 dummy hash) and first requests.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn required_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is unset: run the emulated-AWS contract tests with `make test`")
    })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One emulated stack with its own table, secret and parameter in the shared moto.
/// Every process is killed when dropped.
pub struct AwsLocal {
    pub base_url: String,
    /// The emulated API Gateway's port (the base URL's).
    port: u16,
    /// `cargo lambda watch`: the Runtime API the functions poll, and the Invoke
    /// API the gateway and the event sources call.
    watch_port: u16,
    watch: Child,
    gateway: Option<Child>,
    functions: Vec<Child>,
    event_sources: Option<Child>,
    dir: TempDir,
    template: AwsStack,
}

impl AwsLocal {
    /// Provisions a stack signing with `keys` (oldest first) and starts it with the
    /// template's environment overridden by `env`.
    pub fn start(keys: &[&TestKey], env: &[(String, String)]) -> Self {
        Self::start_denying(keys, env, &[])
    }

    /// As `start`, for another template (an app built on Skiff).
    pub fn start_stack(stack: AwsStack, keys: &[&TestKey], env: &[(String, String)]) -> Self {
        Self::start_stack_denying(stack, keys, env, &[])
    }

    /// As `start`, with `denied` (`function:action`, e.g. `notifier:dynamodb:GetItem`)
    /// taken out of those functions' policies.
    pub fn start_denying(keys: &[&TestKey], env: &[(String, String)], denied: &[&str]) -> Self {
        Self::start_stack_denying(AwsStack::SKIFF, keys, env, denied)
    }

    fn start_stack_denying(
        stack: AwsStack,
        keys: &[&TestKey],
        env: &[(String, String)],
        denied: &[&str],
    ) -> Self {
        assert!(!keys.is_empty(), "a Lambda stack needs its signing keys");
        // A port picked here can be taken before watch or the gateway binds it;
        // try again then.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(stack, keys, env, denied) {
                Ok(stack) => return stack,
                Err(e) => last_error = e,
            }
        }
        panic!("emulated AWS did not start: {last_error}");
    }

    fn try_start(
        template: AwsStack,
        keys: &[&TestKey],
        env: &[(String, String)],
        denied: &[&str],
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, watch_port) = (crate::free_port(), crate::free_port());
        let base_url = format!("http://127.0.0.1:{port}");
        let env_file = dir.path().join("functions.env");
        let mappings = dir.path().join("event-sources.json");
        provision(
            template,
            dir.path(),
            keys,
            &base_url,
            &env_file,
            &mappings,
            denied,
        );

        let watch_log = std::fs::File::create(dir.path().join("watch.log")).expect("log file");
        let names: Vec<String> = template.functions().into_iter().map(|(n, _)| n).collect();
        let watch_dir = watch_project(dir.path(), &names);
        let watch = Command::new(required_var("SKIFF_TEST_CARGO_LAMBDA"))
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(watch_port.to_string())
            .current_dir(watch_dir)
            .stdin(Stdio::null())
            .stdout(watch_log.try_clone().expect("log file"))
            .stderr(watch_log)
            .spawn()
            .expect("spawn cargo lambda watch");
        let mut stack = Self {
            base_url,
            port,
            watch_port,
            watch,
            gateway: None,
            functions: Vec::new(),
            event_sources: None,
            dir,
            template,
        };
        // Lambda starts a function only once its Runtime API is up.
        stack.wait_for_watch()?;
        // Later entries win: the template's environment, quiet logs, the test's settings.
        let mut function_env = read_env_file(&env_file);
        function_env.push(("SKIFF_LOG".into(), crate::host::test_log_level()));
        function_env.extend(crate::host::run_settings());
        // Lambda Managed Instances: many invocations at once in each environment.
        if let Ok(n) = std::env::var("SKIFF_TEST_LAMBDA_MAX_CONCURRENCY") {
            function_env.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), n));
        }
        function_env.extend(env.iter().cloned());
        for (name, instances) in template.functions() {
            // The function's own principal (its execution role), as provisioned.
            let mut own_env = function_env.clone();
            own_env.extend(read_env_file(
                &env_file.with_extension(format!("env.{name}")),
            ));
            for _ in 0..instances {
                let child = stack.spawn_function(&name, watch_port, &own_env);
                stack.functions.push(child);
            }
        }
        let watch_url = format!("http://127.0.0.1:{watch_port}");
        stack.gateway = Some(start_gateway(template, &watch_url, port));
        stack.wait_until_ready()?;
        stack.event_sources = Some(start_event_sources(&mappings, &watch_url));
        Ok(stack)
    }

    /// Starts one function process the way Lambda does: a clean environment with the
    /// function's variables and the Runtime API address.
    fn spawn_function(&self, name: &str, port: u16, env: &[(String, String)]) -> Child {
        let binary = PathBuf::from(required_var("SKIFF_LAMBDA_BIN_DIR")).join(name);
        // Lambda sends a function's stdout to CloudWatch Logs, where its EMF
        // documents become metrics; here each process's goes to a file of its own.
        let stdout = std::fs::File::create(
            self.dir
                .path()
                .join(format!("{name}-{}.stdout", self.functions.len())),
        )
        .expect("function stdout file");
        assert!(
            binary.exists(),
            "{} does not exist: run `make test`",
            binary.display()
        );
        Command::new(binary)
            .env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .envs(crate::host_settings(env))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(crate::stderr_for(
                env,
                &format!("{name}-{}", self.functions.len()),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"))
    }

    /// Every line the functions have written to stdout so far, with the name of the
    /// function that wrote it.
    pub fn function_stdout(&self) -> Vec<(String, String)> {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("stack dir") {
            let path = entry.expect("stack dir entry").path();
            let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((function, _)) = file
                .strip_suffix(".stdout")
                .and_then(|stem| stem.rsplit_once('-'))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("function stdout");
            lines.extend(text.lines().map(|l| (function.to_owned(), l.to_owned())));
        }
        lines
    }

    /// Waits until watch accepts connections; watch exiting means its port was taken.
    fn wait_for_watch(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.watch_port)).is_err() {
            self.check_watch()?;
            if Instant::now() > deadline {
                panic!("cargo lambda watch did not listen within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn check_watch(&mut self) -> Result<(), String> {
        match self.watch.try_wait().expect("wait") {
            None => Ok(()),
            Some(status) => Err(format!(
                "cargo lambda watch exited with {status}: {}",
                std::fs::read_to_string(self.dir.path().join("watch.log")).unwrap_or_default()
            )),
        }
    }

    /// The gateway exits at once when its port was taken between `free_port` and
    /// its bind (its traceback is on stderr, above).
    fn check_gateway(&mut self) -> Result<(), String> {
        let Some(gateway) = self.gateway.as_mut() else {
            return Ok(());
        };
        match gateway.try_wait().expect("wait") {
            None => Ok(()),
            Some(status) => Err(format!(
                "the API gateway on port {} exited with {status}",
                self.port
            )),
        }
    }

    /// Ready when watch answers and both functions have served a request. A
    /// function that exits (a failed init) is a panic at once, and watch or the
    /// gateway exiting (its port was taken) an error at once, which the caller
    /// retries on other ports: neither is a timeout.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let probes = self.template.probes;
        let mut ready = vec![false; probes.len()];
        while Instant::now() < deadline {
            self.check_watch()?;
            self.check_gateway()?;
            for function in &mut self.functions {
                if let Some(status) = function.try_wait().expect("wait") {
                    panic!("a function exited during init with {status} (its stderr is above)");
                }
            }
            for ((probe, expected), ready) in probes.iter().zip(ready.iter_mut()) {
                if !*ready {
                    *ready = status_of(self.port, probe) == Some(*expected);
                }
            }
            if ready.iter().all(|r| *r) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "emulated AWS on {} was not ready within {START_TIMEOUT:?}",
            self.base_url
        );
    }
}

/// The status of `GET path`, or None if nothing answers within 2 s. Plain std I/O:
/// `TestHost::start` is synchronous but runs inside the tests' tokio runtimes, where
/// a blocking HTTP client may not run.
fn status_of(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line).ok()?;
    status_line.split(' ').nth(1)?.parse().ok()
}

/// Runs `infra/emulate/provision.py` (the script `make aws-local` uses) with a
/// stack name of its own, so parallel tests share moto but no resources.
fn provision(
    template: AwsStack,
    dir: &Path,
    keys: &[&TestKey],
    api_url: &str,
    env_file: &Path,
    mappings: &Path,
    denied: &[&str],
) {
    let stack = format!("skiff-test-{}", uuid::Uuid::new_v4().simple());
    let mut command = Command::new(required_var("SKIFF_TEST_PYTHON"));
    command
        .arg(workspace_root().join("infra/emulate/provision.py"))
        .arg(template.template())
        .arg(required_var("SKIFF_TEST_AWS_ENDPOINT"))
        .arg(api_url)
        .arg(env_file)
        .args(["--stack", &stack])
        .arg("--mappings-file")
        .arg(mappings)
        .args(["--queue-visibility", QUEUE_VISIBILITY_SECONDS]);
    for item in denied {
        command.args(["--deny", item]);
    }
    for (i, key) in keys.iter().enumerate() {
        let path = dir.join(format!("signing-key-{i}.pem"));
        std::fs::write(&path, &key.private_pem).expect("write key");
        command.arg("--key-file").arg(path);
    }
    let output = command.output().expect("run provision.py");
    assert!(
        output.status.success(),
        "provision.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Cargo project for `cargo lambda watch` to start in, declaring one binary per
/// function (watch serves the Runtime and Invoke APIs of its project's binaries
/// only). With `--only-lambda-apis` it builds nothing, but it still reads the
/// project it starts in and walks its folders; in the workspace that walk went
/// through target/test-tools (about 13,000 files of venvs and node modules) and
/// cost 8.6 s, 7 s of it CPU, per start, against 0.1 s here (measured).
fn watch_project(dir: &Path, functions: &[String]) -> PathBuf {
    let project = dir.join("lambda-apis");
    std::fs::create_dir_all(project.join("src")).expect("watch project");
    let mut manifest = String::from(
        "[package]\nname = \"lambda-apis\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n",
    );
    for name in functions {
        manifest.push_str(&format!(
            "\n[[bin]]\nname = \"{name}\"\npath = \"src/main.rs\"\n"
        ));
    }
    std::fs::write(project.join("Cargo.toml"), manifest).expect("watch project manifest");
    std::fs::write(project.join("src/main.rs"), "fn main() {}\n").expect("watch project main");
    project
}

/// API Gateway in front of the functions, on `port` (infra/emulate/api_gateway.py).
fn start_gateway(template: AwsStack, watch_url: &str, port: u16) -> Child {
    Command::new(required_var("SKIFF_TEST_PYTHON"))
        .arg(workspace_root().join("infra/emulate/api_gateway.py"))
        .arg(template.template())
        .arg(watch_url)
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn api_gateway.py")
}

/// The SQS event-source mappings of the stack, invoking the functions through
/// watch's Invoke API.
fn start_event_sources(mappings: &Path, base_url: &str) -> Child {
    Command::new(required_var("SKIFF_TEST_PYTHON"))
        .arg(workspace_root().join("infra/emulate/event_sources.py"))
        .arg(mappings)
        .arg(required_var("SKIFF_TEST_AWS_ENDPOINT"))
        .arg(base_url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn event_sources.py")
}

/// `NAME=value` lines, as `cargo lambda watch --env-file` reads them.
fn read_env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .expect("read the provisioned environment")
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Drop for AwsLocal {
    fn drop(&mut self) {
        for child in self
            .functions
            .iter_mut()
            .chain(self.event_sources.iter_mut())
            .chain(self.gateway.iter_mut())
            .chain(std::iter::once(&mut self.watch))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
