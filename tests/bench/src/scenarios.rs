//! What `make bench` runs, in one process and one run, so every ratio compares
//! figures taken on the same machine at the same time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use skiff::auth::PasswordHasher;
use skiff::domain::Password;

use crate::config::BenchConfig;
use crate::events::{Fixtures, body_of};
use crate::measure::{self, BenchError, Cold, Request};
use crate::report::{Figures, NO_NETWORK_INIT, write_report};
use crate::subject::Subject;

const PASSWORD: &str = "correct horse battery staple";
const ARGON2_SAMPLES: usize = 30;

fn binary(config: &BenchConfig, name: &'static str, env: &[(String, String)]) -> Subject {
    // cargo lambda's layout: <dir>/<function>/bootstrap.
    let program = config.bin_dir.join(name).join("bootstrap");
    let binary_size = std::fs::metadata(&program).ok().map(|m| m.len());
    Subject {
        name,
        program,
        args: Vec::new(),
        env: env.to_vec(),
        dir: None,
        binary_size,
    }
}

fn python_peer(config: &BenchConfig, env: &[(String, String)]) -> Subject {
    let mut env = env.to_vec();
    let dir = config.peer_dir.display().to_string();
    env.extend([
        ("LAMBDA_TASK_ROOT".into(), dir.clone()),
        ("PYTHONPATH".into(), dir),
        ("POWERTOOLS_SERVICE_NAME".into(), "session".into()),
        // Lambda's Python runtime does not write bytecode caches into the task root.
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
    ]);
    Subject {
        name: "python-peer",
        program: config.python.clone(),
        args: vec![
            "-m".into(),
            "awslambdaric".into(),
            "session_read.handler".into(),
        ],
        env,
        dir: Some(config.peer_dir.clone()),
        binary_size: None,
    }
}

fn fixture(
    fixtures: &Fixtures,
    label: &'static str,
    file: &'static str,
    fills: Vec<(&'static str, String)>,
    status: u16,
) -> Result<Request, String> {
    let borrowed: Vec<(&str, &str)> = fills.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let event = fixtures.load(file, &borrowed)?;
    Ok(Request {
        label,
        event: Box::new(move |_| event.clone()),
        status: Some(status),
    })
}

/// Argon2id as login runs it, in this process: the cost login cannot avoid.
fn raw_argon2_verify() -> Result<Vec<Duration>, BenchError> {
    let hasher = PasswordHasher::new()?;
    let password = Password::parse(PASSWORD.to_owned())?;
    let stored = hasher.hash(&password)?;
    let mut samples = Vec::with_capacity(ARGON2_SAMPLES);
    for _ in 0..ARGON2_SAMPLES {
        let started = Instant::now();
        if !hasher.verify(PASSWORD, Some(&stored)) {
            return Err("argon2 verify rejected the right password".into());
        }
        samples.push(started.elapsed());
    }
    Ok(samples)
}

pub async fn run() -> Result<PathBuf, BenchError> {
    let config = BenchConfig::from_env()?;
    let env = config.function_env()?;
    let fixtures = Fixtures::new(&config.events_dir);
    let floor = binary(&config, "echo-floor", &[]);
    let login = binary(&config, "login", &env);
    let session = binary(&config, "session", &env);
    let peer = python_peer(&config, &env);
    let mut offline_env = env.clone();
    offline_env.push(("SKIFF_WARM_UP".into(), "false".into()));
    let session_offline = Subject {
        name: NO_NETWORK_INIT,
        ..binary(&config, "session", &offline_env)
    };
    let n = config.warm_invocations;

    eprintln!("argon2id: {ARGON2_SAMPLES} verifications in-process");
    let argon2 = raw_argon2_verify()?;

    eprintln!("login, warm: register and log in once, then {n} × jwks and {n} × login");
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let setup = [
        fixture(
            &fixtures,
            "register",
            "login/register.json",
            vec![("email", email.clone())],
            201,
        )?,
        fixture(
            &fixtures,
            "login",
            "login/login.json",
            vec![("email", email.clone())],
            200,
        )?,
    ];
    let login_routes = [
        fixture(
            &fixtures,
            "GET /.well-known/jwks.json",
            "login/jwks.json",
            vec![],
            200,
        )?,
        fixture(
            &fixtures,
            "POST /auth/login",
            "login/login.json",
            vec![("email", email)],
            200,
        )?,
    ];
    let (login_warm, answers) = measure::warm(&login, &setup, &login_routes, n).await?;
    let tokens = answers
        .get(1)
        .and_then(body_of)
        .ok_or("the setup login returned no JSON body")?;
    let access_token = tokens["access_token"]
        .as_str()
        .ok_or("the setup login returned no access_token")?
        .to_owned();

    let session_request = |label| {
        fixture(
            &fixtures,
            label,
            "session/get-session.json",
            vec![("access_token", access_token.clone())],
            200,
        )
    };
    let session_routes = [
        fixture(&fixtures, "GET /health", "session/health.json", vec![], 200)?,
        fixture(
            &fixtures,
            "GET /session (forged token: verify only, 401)",
            "session/get-session-forged-token.json",
            vec![],
            401,
        )?,
        session_request("GET /session")?,
    ];
    eprintln!(
        "session, warm: {n} × each of {} routes",
        session_routes.len()
    );
    let (session_warm, _) = measure::warm(&session, &[], &session_routes, n).await?;

    eprintln!("python peer, warm: {n} × GET /session");
    let peer_routes = [session_request("GET /session")?];
    let (peer_warm, _) = measure::warm(&peer, &[], &peer_routes, n).await?;

    eprintln!("echo floor, warm: {n} invocations");
    let echo = Request {
        label: "echo",
        event: Box::new(|i| json!({"ping": i})),
        status: None,
    };
    let (floor_warm, _) = measure::warm(&floor, &[], std::slice::from_ref(&echo), n).await?;

    let spawns = config.cold_spawns;
    eprintln!("cold starts: {spawns} spawns each");
    let floor_cold = measure::cold(&floor, &echo, spawns).await?;
    let jwks = fixture(
        &fixtures,
        "GET /.well-known/jwks.json",
        "login/jwks.json",
        vec![],
        200,
    )?;
    let login_cold = measure::cold(&login, &jwks, spawns).await?;
    let session_cold = measure::cold(&session, &session_request("GET /session")?, spawns).await?;
    // No backend call in init nor in the request: what is left is Skiff's own start.
    let health = fixture(&fixtures, "GET /health", "session/health.json", vec![], 200)?;
    let offline_cold = measure::cold(&session_offline, &health, spawns).await?;
    let peer_cold = measure::cold(&peer, &session_request("GET /session")?, spawns).await?;

    let figures = Figures {
        spawns,
        invocations: n,
        argon2,
        cold: vec![
            cold_row(&floor, floor_cold),
            cold_row(&login, login_cold),
            cold_row(&session, session_cold),
            cold_row(&session_offline, offline_cold),
            cold_row(&peer, peer_cold),
        ],
        warm: vec![
            ("echo-floor", floor_warm),
            ("login", login_warm),
            ("session", session_warm),
            ("python-peer", peer_warm),
        ],
    };
    write_report(&config.output, &figures)?;
    Ok(config.output.clone())
}

fn cold_row(subject: &Subject, cold: Cold) -> (&'static str, Option<u64>, Cold) {
    (subject.name, subject.binary_size, cold)
}
