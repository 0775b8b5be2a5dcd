//! The benchmark's settings, from the variables `tests/bench/run` sets.

use std::path::PathBuf;

pub struct BenchConfig {
    /// `cargo lambda build --release` output: `<function>/bootstrap` for login,
    /// session and echo-floor.
    pub bin_dir: PathBuf,
    /// The functions' environment, provisioned in moto by infra/emulate/provision.py.
    pub env_file: PathBuf,
    /// A Python with awslambdaric, Powertools, boto3 and PyJWT.
    pub python: PathBuf,
    pub peer_dir: PathBuf,
    pub events_dir: PathBuf,
    pub output: PathBuf,
    pub cold_spawns: usize,
    pub warm_invocations: usize,
    /// Measured SQS batches of 10 echo jobs per side (each side also runs one
    /// unmeasured batch first).
    pub batches: usize,
    /// Rounds of the SQS batch comparison.
    pub batch_rounds: usize,
    /// `SKIFF_BENCH_ONLY`: one section alone, printed rather than written to
    /// BENCHMARKS.md (for profiling one part without the whole run).
    pub only: Option<Section>,
    /// A `redis-server` for the sessions-on-Redis section.
    pub redis_url: String,
    /// The release `skiff-local`, for the local server under load.
    pub local_bin: PathBuf,
    /// Each load cell stops after this many answers or `load_time`, whichever first.
    pub load_requests: usize,
    pub load_time: std::time::Duration,
}

/// A section `SKIFF_BENCH_ONLY` can run alone.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The SQS batch comparison, Rust worker and Python peer.
    Batch,
    /// The local server under load.
    Local,
    /// One Lambda environment at each concurrency.
    Lambda,
    /// The worker with metrics on against metrics off.
    Metrics,
}

fn required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .map_err(|_| format!("{name} is required: run the benchmark with `make bench`"))
}

fn count(name: &str, default: usize, minimum: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(value) => match value.parse::<usize>() {
            Ok(n) if n >= minimum => Ok(n),
            _ => Err(format!(
                "{name}={value:?}: expected a whole number ≥ {minimum}"
            )),
        },
    }
}

impl BenchConfig {
    pub fn from_env() -> Result<Self, String> {
        Ok(Self {
            bin_dir: required("SKIFF_BENCH_BIN_DIR")?.into(),
            env_file: required("SKIFF_BENCH_ENV_FILE")?.into(),
            python: required("SKIFF_BENCH_PYTHON")?.into(),
            peer_dir: required("SKIFF_BENCH_PEER_DIR")?.into(),
            events_dir: required("SKIFF_BENCH_EVENTS_DIR")?.into(),
            output: required("SKIFF_BENCH_OUTPUT")?.into(),
            cold_spawns: count("SKIFF_BENCH_COLD_SPAWNS", 20, 1)?,
            warm_invocations: count("SKIFF_BENCH_WARM_INVOCATIONS", 2000, 1)?,
            batches: count("SKIFF_BENCH_BATCHES", 30, 1)?,
            batch_rounds: count("SKIFF_BENCH_BATCH_ROUNDS", 3, 1)?,
            only: match std::env::var("SKIFF_BENCH_ONLY").as_deref() {
                Err(_) => None,
                Ok("batch") => Some(Section::Batch),
                Ok("local") => Some(Section::Local),
                Ok("lambda") => Some(Section::Lambda),
                Ok("metrics") => Some(Section::Metrics),
                Ok(other) => {
                    return Err(format!(
                        "SKIFF_BENCH_ONLY={other:?}: the sections that run alone are `batch`, `lambda`, `local` and `metrics`"
                    ));
                }
            },
            redis_url: required("SKIFF_BENCH_REDIS_URL")?,
            local_bin: required("SKIFF_BENCH_LOCAL_BIN")?.into(),
            load_requests: count("SKIFF_BENCH_LOAD_REQUESTS", 20_000, 1)?,
            load_time: std::time::Duration::from_secs(
                count("SKIFF_BENCH_LOAD_SECONDS", 5, 1)? as u64
            ),
        })
    }

    /// `NAME=value` lines.
    pub fn function_env(&self) -> Result<Vec<(String, String)>, String> {
        let text = std::fs::read_to_string(&self.env_file)
            .map_err(|e| format!("{}: {e}", self.env_file.display()))?;
        Ok(text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }
}
