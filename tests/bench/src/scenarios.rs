//! What `make bench` runs, in one process and one run, so every ratio compares
//! figures taken on the same machine at the same time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use skiff::auth::PasswordHasher;
use skiff::domain::Password;

use crate::config::{BenchConfig, Section};
use crate::events::{Fixtures, body_of};
use crate::measure::{self, BenchError, Cold, Request};
use crate::report::{Figures, NO_NETWORK_INIT, write_report};
use crate::subject::Subject;

const PASSWORD: &str = "correct horse battery staple";
const ARGON2_SAMPLES: usize = 30;

pub(crate) fn binary(
    config: &BenchConfig,
    name: &'static str,
    env: &[(String, String)],
) -> Subject {
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

/// A Python peer: `handler` (`module.function`) in the peer folder, under awslambdaric.
fn python_peer(
    config: &BenchConfig,
    env: &[(String, String)],
    name: &'static str,
    handler: &str,
) -> Subject {
    let mut env = env.to_vec();
    let dir = config.peer_dir.display().to_string();
    env.extend([
        ("LAMBDA_TASK_ROOT".into(), dir.clone()),
        ("PYTHONPATH".into(), dir),
        ("POWERTOOLS_SERVICE_NAME".into(), name.into()),
        // Lambda's Python runtime does not write bytecode caches into the task root.
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
    ]);
    Subject {
        name,
        program: config.python.clone(),
        args: vec!["-m".into(), "awslambdaric".into(), handler.into()],
        env,
        dir: Some(config.peer_dir.clone()),
        binary_size: None,
    }
}

pub(crate) fn fixture(
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

/// Registering `email` (201), then logging it in (200).
fn register_and_login(fixtures: &Fixtures, email: &str) -> Result<[Request; 2], String> {
    Ok([
        fixture(
            fixtures,
            "register",
            "apigw/login/register.json",
            vec![("email", email.to_owned())],
            201,
        )?,
        fixture(
            fixtures,
            "login",
            "apigw/login/login.json",
            vec![("email", email.to_owned())],
            200,
        )?,
    ])
}

/// A user registered and logged in through the login function.
pub(crate) struct BenchUser {
    pub email: String,
    pub user_id: String,
    pub access_token: String,
}

/// Registers and logs in a new user whose email starts with `prefix`.
pub(crate) async fn new_user(
    fixtures: &Fixtures,
    login: &Subject,
    prefix: &str,
) -> Result<BenchUser, BenchError> {
    let email = format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple());
    let setup = register_and_login(fixtures, &email)?;
    let (_, answers) = measure::warm(login, &setup, &[], 0).await?;
    let field = |i: usize, name: &str| {
        answers
            .get(i)
            .and_then(body_of)
            .and_then(|body| body[name].as_str().map(str::to_owned))
    };
    Ok(BenchUser {
        user_id: field(0, "user_id").ok_or("register returned no user_id")?,
        access_token: field(1, "access_token").ok_or("login returned no access_token")?,
        email,
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

fn load_bounds(config: &BenchConfig) -> crate::load::Bounds {
    crate::load::Bounds {
        requests: config.load_requests,
        time: config.load_time,
    }
}

/// Runs every measurement and writes the report (its path), or only one section
/// (`SKIFF_BENCH_ONLY`), printed (None).
pub async fn run() -> Result<Option<PathBuf>, BenchError> {
    let config = BenchConfig::from_env()?;
    if config.only == Some(Section::Local) {
        let local = crate::local_load::run(&config.local_bin, load_bounds(&config)).await?;
        let mut out = String::new();
        crate::report_load::write_local_table(&mut out, &local)?;
        println!("{out}");
        return Ok(None);
    }
    let mut env = config.function_env()?;
    // One access token serves the whole run, which takes longer than the default
    // 15 minutes.
    env.push(("SKIFF_ACCESS_TOKEN_TTL".into(), "2h".into()));
    let fixtures = Fixtures::new(&config.events_dir);
    let floor = binary(&config, "echo-floor", &[]);
    let login = binary(&config, "login", &env);
    let session = binary(&config, "session", &env);
    let peer = python_peer(&config, &env, "python-peer", "session_read.handler");
    let batch_peer = python_peer(&config, &env, "python-batch-peer", "job_worker.handler");
    let mut offline_env = env.clone();
    offline_env.push(("SKIFF_WARM_UP".into(), "false".into()));
    let session_offline = Subject {
        name: NO_NETWORK_INIT,
        ..binary(&config, "session", &offline_env)
    };
    let n = config.warm_invocations;
    let echo = Request {
        label: "echo",
        event: Box::new(|i| json!({"ping": i})),
        status: None,
    };

    if config.only == Some(Section::Metrics) {
        let metrics = crate::metrics_overhead::run(&config, &offline_env).await?;
        let mut out = String::new();
        crate::metrics_overhead::write(&mut out, &metrics)?;
        println!("{out}");
        return Ok(None);
    }

    if config.only == Some(Section::Lambda) {
        let lambda =
            crate::lambda_load::run(&config, &env, &fixtures, load_bounds(&config)).await?;
        let mut out = String::new();
        crate::report_load::write_lambda_table(&mut out, &lambda)?;
        println!("{out}");
        return Ok(None);
    }

    if config.only == Some(Section::Batch) {
        let batch = crate::batch::run(&config, &env, &fixtures, &login, &batch_peer).await?;
        let mut out = String::new();
        crate::report::write_batch(&mut out, &batch)?;
        println!("{out}");
        return Ok(None);
    }

    // First, while the table is small: moto's queries slow down as it grows, and the
    // login benchmark below adds thousands of items.
    eprintln!("jobs, account and the queue consumers: warm ({n} × each route) and cold");
    let more = jobs_account_and_queue_functions(
        &config,
        &env,
        &offline_env,
        &fixtures,
        &login,
        (&floor, &echo),
        n,
    )
    .await?;

    let batch = crate::batch::run(&config, &env, &fixtures, &login, &batch_peer).await?;

    eprintln!("metrics: the worker with metrics on and off, alternating");
    let metrics = crate::metrics_overhead::run(&config, &offline_env).await?;

    let bounds = load_bounds(&config);
    eprintln!("under load: one Lambda environment at 1, 4 and 16 invocations in flight");
    let lambda_load = crate::lambda_load::run(&config, &env, &fixtures, bounds).await?;
    eprintln!("under load: the local server at 1, 16 and 64 clients");
    let local_load = crate::local_load::run(&config.local_bin, bounds).await?;

    eprintln!("argon2id: {ARGON2_SAMPLES} verifications in-process");
    let argon2 = raw_argon2_verify()?;

    eprintln!("login, warm: register and log in once, then {n} × jwks and {n} × login");
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let setup = register_and_login(&fixtures, &email)?;
    let login_routes = [
        fixture(
            &fixtures,
            "GET /.well-known/jwks.json",
            "apigw/login/jwks.json",
            vec![],
            200,
        )?,
        fixture(
            &fixtures,
            "POST /auth/login",
            "apigw/login/login.json",
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
            "apigw/session/get-session.json",
            vec![("access_token", access_token.clone())],
            200,
        )
    };
    let session_routes = [
        fixture(
            &fixtures,
            "GET /health",
            "apigw/session/health.json",
            vec![],
            200,
        )?,
        fixture(
            &fixtures,
            "GET /session (forged token: verify only, 401)",
            "apigw/session/get-session-forged-token.json",
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
    let (floor_warm, _) = measure::warm(&floor, &[], std::slice::from_ref(&echo), n).await?;

    eprintln!(
        "sessions on Redis and on DynamoDB: {n} × GET /session and PATCH /session/data each; the Redis store against bare round trips"
    );
    let redis = crate::redis_sessions::run(&config, &env, &fixtures, n).await?;

    let spawns = config.cold_spawns;
    eprintln!("cold starts: {spawns} spawns each");
    let floor_cold = measure::cold(&floor, &echo, spawns).await?;
    let jwks = fixture(
        &fixtures,
        "GET /.well-known/jwks.json",
        "apigw/login/jwks.json",
        vec![],
        200,
    )?;
    let login_cold = measure::cold(&login, &jwks, spawns).await?;
    let session_cold = measure::cold(&session, &session_request("GET /session")?, spawns).await?;
    // No backend call in init nor in the request: what is left is Skiff's own start.
    let health = fixture(
        &fixtures,
        "GET /health",
        "apigw/session/health.json",
        vec![],
        200,
    )?;
    let offline_cold =
        measure::cold_beside_floor((&floor, &echo), &session_offline, &health, spawns).await?;
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
        ]
        .into_iter()
        .chain(more.cold)
        .collect(),
        warm: vec![
            ("echo-floor", floor_warm),
            ("login", login_warm),
            ("session", session_warm),
            ("python-peer", peer_warm),
        ]
        .into_iter()
        .chain(more.warm)
        .collect(),
        batch,
        metrics,
        redis,
        load: crate::report_load::LoadFigures {
            bounds,
            lambda: lambda_load,
            local: local_load,
        },
    };
    write_report(&config.output, &figures)?;
    Ok(Some(config.output.clone()))
}

fn cold_row(subject: &Subject, cold: Cold) -> (&'static str, Option<u64>, Cold) {
    (subject.name, subject.binary_size, cold)
}

/// What the jobs, account and queue functions contribute to the report.
struct MoreFigures {
    cold: Vec<(&'static str, Option<u64>, Cold)>,
    warm: Vec<(&'static str, measure::Warm)>,
}

/// An SQS event: each record's body as given, ids `m-0`, `m-1`, …
pub(crate) fn sqs_event(label: &'static str, bodies: Vec<String>) -> Request {
    let event = json!({
        "Records": bodies.iter().enumerate().map(|(i, body)| json!({
            "messageId": format!("m-{i}"),
            "receiptHandle": format!("handle-{i}"),
            "body": body,
            "attributes": {},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "awsRegion": "us-east-1"
        })).collect::<Vec<_>>()
    });
    Request {
        label,
        event: Box::new(move |_| event.clone()),
        status: None,
    }
}

/// jobs and account (HTTP), worker, notifier and workflow (SQS): warm routes, a
/// cold start with their usual first request, and a cold start whose init and
/// request make no network call (`SKIFF_WARM_UP=false`; a refused token, or a
/// batch of one poison message), spawned in turn with the `floor`.
async fn jobs_account_and_queue_functions(
    config: &BenchConfig,
    env: &[(String, String)],
    offline_env: &[(String, String)],
    fixtures: &Fixtures,
    login: &Subject,
    floor: (&Subject, &Request),
    n: usize,
) -> Result<MoreFigures, BenchError> {
    // A user of their own: the login benchmark's user owns thousands of session
    // items by now, and moto scans a whole partition for every query.
    let access_token = new_user(fixtures, login, "bench-jobs").await?.access_token;
    let token = || vec![("access_token", access_token.clone())];
    let refused = || vec![("access_token", "not-a-token".to_owned())];
    let user = uuid::Uuid::new_v4().to_string();
    let poison = || {
        sqs_event(
            "batch of 1 poison message (no backend call)",
            vec!["not a message".into()],
        )
    };
    let spawns = config.cold_spawns;
    let mut more = MoreFigures {
        cold: Vec::new(),
        warm: Vec::new(),
    };

    let jobs_routes = vec![
        fixture(
            fixtures,
            "GET /jobs?limit=5",
            "apigw/jobs/list.json",
            token(),
            200,
        )?,
        fixture(
            fixtures,
            "GET /notifications",
            "apigw/jobs/notifications.json",
            token(),
            200,
        )?,
        fixture(
            fixtures,
            "GET /jobs (refused token, 401)",
            "apigw/jobs/list.json",
            refused(),
            401,
        )?,
    ];
    let account_routes = vec![
        fixture(
            fixtures,
            "GET /account/deletion/{unknown} (404)",
            "apigw/account/deletion-status-unknown.json",
            token(),
            404,
        )?,
        fixture(
            fixtures,
            "GET /account/deletion/{id} (refused token, 401)",
            "apigw/account/deletion-status-unknown.json",
            refused(),
            401,
        )?,
    ];
    let gone_job =
        json!({"job_id": "0190c1d2-0000-7000-8000-000000000000", "user_id": user}).to_string();
    let event = json!({"type": "job.succeeded", "user_id": user, "occurred_at": 1, "job_id": "0190c1d2-0000-7000-8000-000000000000"}).to_string();
    let step =
        json!({"step": "revoke_sessions", "deletion_id": uuid::Uuid::new_v4(), "user_id": user})
            .to_string();
    let worker_routes = vec![
        sqs_event(
            "batch of 10 messages for a deleted job (10 reads)",
            vec![gone_job; 10],
        ),
        poison(),
    ];
    let notifier_routes = vec![
        sqs_event(
            "batch of 10 events for a job that is gone (10 reads, nothing stored)",
            vec![event; 10],
        ),
        poison(),
    ];
    let workflow_routes = vec![
        sqs_event(
            "RevokeSessions for an unknown deletion (1 read, refused)",
            vec![step],
        ),
        poison(),
    ];

    for (name, offline_name, routes, offline_request) in [
        ("jobs", "jobs-no-warm-up", jobs_routes, 2),
        ("account", "account-no-warm-up", account_routes, 1),
        ("worker", "worker-no-warm-up", worker_routes, 1),
        ("notifier", "notifier-no-warm-up", notifier_routes, 1),
        ("workflow", "workflow-no-warm-up", workflow_routes, 1),
    ] {
        let subject = binary(config, name, env);
        let offline = Subject {
            name: offline_name,
            ..binary(config, name, offline_env)
        };
        let (warm, _) = measure::warm(&subject, &[], &routes, n).await?;
        more.warm.push((name, warm));
        let cold = measure::cold(&subject, &routes[0], spawns).await?;
        more.cold.push(cold_row(&subject, cold));
        let cold =
            measure::cold_beside_floor(floor, &offline, &routes[offline_request], spawns).await?;
        more.cold.push(cold_row(&offline, cold));
    }
    Ok(more)
}
