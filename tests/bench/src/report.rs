//! BENCHMARKS.md: the figures of one run, as ratios against the floor and the peer
//! measured in that same run, and each performance target next to what was measured.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::batch::{BatchFigures, JOBS_PER_BATCH};
use crate::measure::{BenchError, Cold, Cpu, Warm};
use crate::redis_sessions::{GET_SESSION, PATCH_DATA, RedisFigures};
use crate::stats::{Summary, summarize};

/// The session function with `SKIFF_WARM_UP=false`: its init makes no network call.
pub const NO_NETWORK_INIT: &str = "session-no-warm-up";
/// Every `<function>-no-warm-up` row is that function with `SKIFF_WARM_UP=false` and
/// a first request that needs no backend: its init and request make no network call.
const NO_WARM_UP_SUFFIX: &str = "-no-warm-up";

/// A cold row's p50 over the floor's. A row spawned in turn with the floor is set
/// against those floor spawns (`floor_beside`), not `floor_p50`, the floor's own
/// row, measured at another time of the run.
fn over_floor(cold: &Cold, floor_p50: f64) -> f64 {
    let floor = cold
        .floor_beside
        .as_deref()
        .map_or(floor_p50, |samples| summarize(samples).p50);
    summarize(&cold.samples).p50 / floor
}

/// The serial depth of login's backend calls (see `AuthService::login`): counting
/// the attempt is a read and a conditional put, then the writes go out together,
/// then one read of the user guards the new session against a racing deletion.
const LOGIN_SERIAL_ROUND_TRIPS: f64 = 4.0;

pub struct Figures {
    pub spawns: usize,
    pub invocations: usize,
    pub argon2: Vec<Duration>,
    /// (function, stripped binary size, cold starts)
    pub cold: Vec<(&'static str, Option<u64>, Cold)>,
    pub warm: Vec<(&'static str, Warm)>,
    /// Rounds of the SQS batch comparison, in the order they ran.
    pub batch: Vec<BatchFigures>,
    pub metrics: crate::metrics_overhead::MetricsFigures,
    pub load: crate::report_load::LoadFigures,
    pub redis: RedisFigures,
}

/// The Redis store's target: its own cost at most this many times the bare
/// round trip it is built on.
const REDIS_STORE_TARGET: f64 = 1.2;

fn write_redis(out: &mut String, redis: &RedisFigures) -> Result<(), BenchError> {
    writeln!(
        out,
        "\n## Sessions on Redis\n\nThe session function with `SKIFF_SESSION_STORE` on a \
         local `redis-server` (no persistence, loopback) next to the same function on \
         DynamoDB (moto), {} sequential invocations per route in one warm environment \
         each; every user logged in through the login function on the same store. \
         moto is a Python server, so the DynamoDB side is slower than DynamoDB itself: \
         the ratio says what the function adds on each, not how Redis compares with the \
         real DynamoDB.\n",
        redis.store_read.len()
    )?;
    writeln!(
        out,
        "| route | DynamoDB (moto) p50 ms | p99 ms | Redis p50 ms | p99 ms | Redis ÷ DynamoDB (p50) |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )?;
    let route = |warm: &Warm, label: &str| {
        warm.routes
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, samples)| summarize(samples))
    };
    for label in [GET_SESSION, PATCH_DATA] {
        if let (Some(d), Some(r)) = (route(&redis.dynamodb, label), route(&redis.redis, label)) {
            writeln!(
                out,
                "| {label} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                d.p50,
                d.p99,
                r.p50,
                r.p99,
                r.p50 / d.p50
            )?;
        }
    }
    writeln!(
        out,
        "\nThe store in process against the bare round trip it is built on, interleaved \
         call by call on one connection each: `RedisSessions::get` (an `HGETALL` and \
         decoding the session) against a bare `HGETALL` of the same key, and \
         `RedisSessions::write_data` (encoding the data, the conditional-write script \
         by `EVALSHA`, the written session) against a bare `EVALSHA` of the same \
         script with the same arguments. Target: at most {REDIS_STORE_TARGET}× the \
         bare round trip. The last row puts the conditional write (version check, \
         expiry) next to a bare `EVALSHA` of a one-`HSET` script with the same \
         data: what the contract's semantics cost inside Redis.\n"
    )?;
    writeln!(
        out,
        "| operation | store p50 µs | bare p50 µs | store ÷ bare | target |\n| --- | ---: | ---: | ---: | --- |"
    )?;
    for (name, store, raw, target) in [
        ("read a session", &redis.store_read, &redis.raw_read, true),
        (
            "write session data",
            &redis.store_write,
            &redis.raw_write,
            true,
        ),
        (
            "write session data, against a plain one-`HSET` write",
            &redis.store_write,
            &redis.plain_write,
            false,
        ),
    ] {
        let (store, raw) = (summarize(store), summarize(raw));
        let ratio = store.p50 / raw.p50;
        let verdict = if target {
            verdict(ratio <= REDIS_STORE_TARGET)
        } else {
            "–"
        };
        writeln!(
            out,
            "| {name} | {:.0} | {:.0} | {ratio:.2} | {verdict} |",
            store.p50 * 1000.0,
            raw.p50 * 1000.0,
        )?;
    }
    Ok(())
}

/// CPU milliseconds per invocation.
fn cpu_ms(cpu: &Cpu) -> f64 {
    cpu.cpu.as_secs_f64() * 1000.0 / cpu.invocations.max(1) as f64
}

/// The SQS batch comparison's target: the Rust worker's CPU throughput over the
/// Python peer's, in every round.
const BATCH_TARGET: f64 = 6.0;

pub fn batch_ratio(round: &BatchFigures) -> f64 {
    cpu_ms(&round.python) / cpu_ms(&round.rust)
}

pub fn write_batch(out: &mut String, rounds: &[BatchFigures]) -> Result<(), BenchError> {
    let Some(batch) = rounds.first() else {
        return Ok(());
    };
    writeln!(
        out,
        "\n## SQS batch of {JOBS_PER_BATCH} echo jobs\n\nThe Rust worker function and the \
         Python peer (`tests/bench/peer/job_worker.py`: the same steps per job with \
         Powertools' `BatchProcessor` under `awslambdaric`) each handle {} batches of \
         {JOBS_PER_BATCH} fresh queued echo jobs per round, {} rounds one after another (made through the jobs function), \
         after one unmeasured batch, in one warm environment each, against the same \
         moto. The two take turns, batch by batch, so a change in the machine's load \
         during the run falls on both. Per job both read it, move it to running and to succeeded (conditional \
         writes) and publish its event to SNS: four round trips; both write a log line when the attempt \
         starts and one when the job finishes, and one EMF metrics document per batch. CPU time is the \
         process's user + system time over the measured batches, all threads, read from its CPU-time \
         clock (nanoseconds): the work each side does itself, without the time it waits for moto. moto keeps connections open, as AWS does \
         (tests/peers/moto_server.py), so no side pays a TCP connection per call. Wall \
         time includes the round trips.\n",
        batch.rust.invocations,
        rounds.len()
    )?;
    writeln!(
        out,
        "| round | worker | CPU ms per batch | batches per CPU-second | Rust ÷ Python | wall p50 ms | wall p99 ms | peak RSS MiB |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for (i, round) in rounds.iter().enumerate() {
        for (name, cpu, ratio) in [
            (
                "worker (Rust)",
                &round.rust,
                format!("{:.1}", batch_ratio(round)),
            ),
            ("python-batch-peer", &round.python, "–".to_owned()),
        ] {
            let wall = summarize(&cpu.wall);
            writeln!(
                out,
                "| {} | {name} | {:.2} | {:.0} | {ratio} | {:.1} | {:.1} | {} |",
                i + 1,
                cpu_ms(cpu),
                1000.0 / cpu_ms(cpu),
                wall.p50,
                wall.p99,
                mib(cpu.peak_rss_kib)
            )?;
        }
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {kernel}")
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn warm_summary(figures: &Figures, function: &str, route: &str) -> Option<Summary> {
    figures
        .warm
        .iter()
        .find(|(name, _)| *name == function)?
        .1
        .routes
        .iter()
        .find(|(label, _)| *label == route)
        .map(|(_, samples)| summarize(samples))
}

pub fn write_report(path: &Path, figures: &Figures) -> Result<(), BenchError> {
    let mut out = String::new();
    let date = time::OffsetDateTime::now_utc().date();
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Written by `make bench` on {date}. Machine: {}. Every figure below comes from \
         that one run: the Skiff functions (release builds by `cargo lambda build`, as \
         `make package` makes them for deployment), the floor (a bare \
         `lambda_runtime` echo function built in the same run) and the peer (the same \
         session read in Python with Powertools for AWS Lambda under `awslambdaric`), \
         all against the same moto, all driven through the benchmark's own Lambda \
         Runtime API on loopback. The machine is shared and noisy: compare ratios, \
         not absolute figures.\n",
        machine()
    )?;

    let floor_cold = figures.cold.iter().find(|(n, _, _)| *n == "echo-floor");
    let peer_cold = figures.cold.iter().find(|(n, _, _)| *n == "python-peer");
    let p50_of =
        |row: Option<&(&str, Option<u64>, Cold)>| row.map(|(_, _, c)| summarize(&c.samples).p50);
    let floor_p50 = p50_of(floor_cold).unwrap_or(f64::NAN);
    let peer_p50 = p50_of(peer_cold).unwrap_or(f64::NAN);

    writeln!(
        out,
        "## Cold start\n\nSpawn → first response, the event queued before the spawn (as \
         when Lambda starts an environment for a waiting request), {} spawns each. \
         Login's init reads its private keys from Secrets Manager on moto and both Rust \
         functions warm their DynamoDB connection there; `{NO_NETWORK_INIT}` is the \
         session function with `SKIFF_WARM_UP=false`, whose init makes no network call. \
         The session function and the peer take the public JWKS from the environment. \
         The first request is `GET /session` (one DynamoDB read) for the session \
         function and the peer, `GET /.well-known/jwks.json` for login and `GET /health` \
         for `{NO_NETWORK_INIT}`: no backend call in its init nor in its request. \
         The jobs, account and queue functions start with the first route of their warm table below \
         (jobs: `GET /jobs?limit=5`, one query; account: an unknown deletion, one read; \
         worker, notifier, workflow: an SQS batch against moto); each `-no-warm-up` \
         row is the same binary with `SKIFF_WARM_UP=false` and a first request that \
         needs no backend (a refused token, or a batch of one poison message). Each \
         `-no-warm-up` row is spawned in turn with the floor (floor, function, floor, \
         …) and its `p50 × floor` is against the p50 of those floor spawns, so that a \
         change in the shared machine's load during the run falls on both; every other \
         row is against the floor's own row.\n",
        figures.spawns
    )?;
    writeln!(
        out,
        "| function | p50 ms | p90 ms | p50 × floor | peer p50 ÷ this p50 | peak RSS MiB | stripped binary bytes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for (name, size, cold) in &figures.cold {
        let s = summarize(&cold.samples);
        writeln!(
            out,
            "| {name} | {:.1} | {:.1} | {:.2} | {:.1} | {} | {} |",
            s.p50,
            s.p90,
            over_floor(cold, floor_p50),
            peer_p50 / s.p50,
            mib(cold.peak_rss_kib),
            size.map_or("–".into(), |b| b.to_string()),
        )?;
    }

    let floor_warm = warm_summary(figures, "echo-floor", "echo");
    writeln!(
        out,
        "\n## Warm invocations\n\nOne environment, {} sequential invocations per route, \
         timed from queueing the event to the response POST. \"Over floor\" subtracts \
         the echo floor's figure for the same percentile: what Skiff adds on top of the \
         runtime loop and the Runtime API round trip.\n",
        figures.invocations
    )?;
    writeln!(
        out,
        "| function | route | p50 ms | p99 ms | p50 over floor | p99 over floor | peak RSS MiB |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    )?;
    for (name, warm) in &figures.warm {
        for (label, samples) in &warm.routes {
            let s = summarize(samples);
            let (over50, over99) = floor_warm
                .as_ref()
                .map_or((f64::NAN, f64::NAN), |f| (s.p50 - f.p50, s.p99 - f.p99));
            writeln!(
                out,
                "| {name} | {label} | {:.3} | {:.3} | {over50:.3} | {over99:.3} | {} |",
                s.p50,
                s.p99,
                mib(warm.peak_rss_kib)
            )?;
        }
    }

    let argon2 = summarize(&figures.argon2);
    let login = warm_summary(figures, "login", "POST /auth/login");
    let login_p50 = login.as_ref().map_or(f64::NAN, |s| s.p50);
    writeln!(
        out,
        "\n## Login and Argon2id\n\n| raw Argon2id verify p50 ms ({} in-process) | login p50 ms (warm) | login ÷ Argon2id |\n| ---: | ---: | ---: |\n| {:.1} | {:.1} | {:.2} |",
        argon2.count,
        argon2.p50,
        login_p50,
        login_p50 / argon2.p50
    )?;

    // One DynamoDB round trip on moto, measured in this run: the session read minus
    // the same request rejected before any backend call.
    let round_trip = match (
        warm_summary(figures, "session", "GET /session"),
        warm_summary(
            figures,
            "session",
            "GET /session (forged token: verify only, 401)",
        ),
    ) {
        (Some(read), Some(verify)) => read.p50 - verify.p50,
        _ => f64::NAN,
    };
    let login_net = login_p50 - LOGIN_SERIAL_ROUND_TRIPS * round_trip;
    writeln!(
        out,
        "\nLogin's backend calls are four round trips deep: counting the attempt (a \
         read, then a conditional put) while the account is looked up; clearing the \
         count, creating the session and storing the refresh token (each with its \
         index item) together; then a consistent read of the user, which revokes the \
         new session if an account deletion started meanwhile. One \
         DynamoDB round trip on moto in this run, measured as `GET /session` minus the \
         verify-only request, is {round_trip:.1} ms, so login without those four is \
         about {login_net:.1} ms, {:.2}× Argon2id. moto answers one request at a time \
         (tests/peers/moto_server.py), so the calls that overlap on DynamoDB queue \
         there and this estimate still counts some backend time.",
        login_net / argon2.p50
    )?;

    write_batch(&mut out, &figures.batch)?;
    crate::metrics_overhead::write(&mut out, &figures.metrics)?;
    write_redis(&mut out, &figures.redis)?;
    crate::report_load::write_tables(&mut out, &figures.load)?;

    writeln!(out, "\n## Targets\n")?;
    writeln!(out, "| target | measured | verdict |\n| --- | --- | --- |")?;
    for (name, size, cold) in &figures.cold {
        let s = summarize(&cold.samples);
        if let Some(function) = name.strip_suffix(NO_WARM_UP_SUFFIX) {
            let ratio = over_floor(cold, floor_p50);
            writeln!(
                out,
                "| {function}: cold start ≤ 1.5× the floor when init makes no network call | {ratio:.2}× | {} |",
                verdict(ratio <= 1.5)
            )?;
            continue;
        }
        if matches!(*name, "echo-floor" | "python-peer") {
            continue;
        }
        writeln!(
            out,
            "| {name}: cold start ≥ 5× faster than the Python peer | {:.1}× | {} |",
            peer_p50 / s.p50,
            verdict(peer_p50 / s.p50 >= 5.0)
        )?;
        writeln!(
            out,
            "| {name}: peak RSS ≤ 24 MB (cold) | {} MiB | {} |",
            mib(cold.peak_rss_kib),
            verdict(cold.peak_rss_kib * 1024 <= 24_000_000)
        )?;
        if let Some(bytes) = size {
            writeln!(
                out,
                "| {name}: stripped binary ≤ 6 MB | {bytes} bytes | {} |",
                verdict(*bytes <= 6_000_000)
            )?;
        }
    }
    writeln!(
        out,
        "| login: cold start ≤ 1.5× the floor when init makes no network call | not applicable: login must read its private keys from Secrets Manager at init | – |"
    )?;
    for (name, warm) in &figures.warm {
        if matches!(*name, "echo-floor" | "python-peer") {
            continue;
        }
        writeln!(
            out,
            "| {name}: peak RSS ≤ 24 MB (after {} warm invocations per route) | {} MiB | {} |",
            figures.invocations,
            mib(warm.peak_rss_kib),
            verdict(warm.peak_rss_kib * 1024 <= 24_000_000)
        )?;
    }
    for (function, route) in [
        ("session", "GET /health"),
        ("session", "GET /session (forged token: verify only, 401)"),
        ("login", "GET /.well-known/jwks.json"),
    ] {
        if let (Some(s), Some(f)) = (warm_summary(figures, function, route), floor_warm.as_ref()) {
            let over = s.p99 - f.p99;
            writeln!(
                out,
                "| {function} {route}: warm overhead p99 ≤ 1 ms (no backend call) | {over:.3} ms | {} |",
                verdict(over <= 1.0)
            )?;
        }
    }
    writeln!(
        out,
        "| login p50 ≤ 1.2× raw Argon2id | {:.2}× | {} |",
        login_p50 / argon2.p50,
        verdict(login_p50 / argon2.p50 <= 1.2)
    )?;
    let ratios: Vec<f64> = figures.batch.iter().map(batch_ratio).collect();
    let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.1}×")).collect();
    writeln!(
        out,
        "| SQS batch of {JOBS_PER_BATCH} echo jobs, backend round trips excluded (CPU time): ≥ {BATCH_TARGET}× the Python peer's throughput in every round | {} | {} |",
        listed.join(", "),
        verdict(!ratios.is_empty() && ratios.iter().all(|r| *r >= BATCH_TARGET))
    )?;
    crate::report_load::write_targets(&mut out, &figures.load)?;
    std::fs::write(path, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    /// A row spawned beside the floor is judged against those floor spawns, so a
    /// machine that slowed between sections does not fail (or pass) it; a row
    /// without them is judged against the floor's own row.
    #[test]
    fn a_cold_row_is_set_against_the_floor_spawned_beside_it() {
        let beside = Cold {
            samples: ms(&[3, 3, 3]),
            peak_rss_kib: 0,
            floor_beside: Some(ms(&[2, 2, 2])),
        };
        assert!((over_floor(&beside, 1.0) - 1.5).abs() < 1e-9);
        let alone = Cold {
            floor_beside: None,
            ..beside
        };
        assert!((over_floor(&alone, 1.0) - 3.0).abs() < 1e-9);
    }
}
