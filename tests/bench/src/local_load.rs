//! The local server (the release `skiff-local`, SQLite in a throw-away data
//! directory) under closed-loop HTTP clients on loopback, at 1, 16 and 64 clients:
//! the routes a client of the app calls most, next to `GET /health` at the same
//! concurrency, the floor of the server and the generator sharing the machine.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use http::{Method, StatusCode};
use serde_json::json;

use crate::http_client::{Answer, Http};
use crate::load::{Bounds, LoadRun, Verdict, closed_loop, lock};
use crate::measure::BenchError;

pub const CLIENTS: [usize; 3] = [1, 16, 64];

pub const HEALTH: &str = "GET /health";
pub const GET_SESSION: &str = "GET /session";
pub const PATCH_OWN: &str = "PATCH /session/data (each client its own session)";
pub const PATCH_SHARED: &str = "PATCH /session/data (every client on one session)";
pub const POST_JOBS: &str = "POST /jobs";
pub const LOGIN: &str = "POST /auth/login";

const PASSWORD: &str = "correct horse battery staple";

pub struct LocalRow {
    pub label: &'static str,
    pub runs: Vec<LoadRun>,
}

pub struct LocalLoad {
    pub rows: Vec<LocalRow>,
    /// What the one-session writes showed: every 200 a distinct version, and the
    /// session's last version the count of them, or what was lost.
    pub shared_session: Result<String, String>,
    pub peak_rss_kib: u64,
}

/// A logged-in user of the server under load.
struct Client {
    email: String,
    bearer: String,
}

/// The server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &Path, data_dir: &Path) -> Result<(Server, String), BenchError> {
    let mut child = Command::new(binary)
        .env_clear()
        .env("SKIFF_LISTEN", "127.0.0.1:0")
        .env("SKIFF_DATA_DIR", data_dir)
        .env("SKIFF_LOG", "error")
        .env("SKIFF_ACCESS_TOKEN_TTL", "2h")
        // Every client is 127.0.0.1: the per-client throttle would count the
        // registrations of all of them as one client's.
        .env("SKIFF_LOCKOUT_CLIENT_MAX_FAILURES", "1000000")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from skiff-local")?;
    let server = Server(child);
    let mut stdout = BufReader::new(stdout);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    // Keep draining, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = first
        .trim()
        .rsplit(' ')
        .next()
        .filter(|url| url.starts_with("http://"))
        .ok_or_else(|| format!("unexpected first line from skiff-local: {first:?}"))?
        .to_owned();
    Ok((server, base))
}

fn judge(answer: Result<Answer, BenchError>, expected: StatusCode) -> Verdict {
    match answer {
        Ok(a) if a.status == expected => Verdict::Ok,
        Ok(a)
            if a.status == StatusCode::SERVICE_UNAVAILABLE
                && a.headers.contains_key("retry-after") =>
        {
            Verdict::Refused
        }
        Ok(a) => Verdict::Error(format!(
            "{}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
                .chars()
                .take(200)
                .collect::<String>()
        )),
        Err(e) => Verdict::Error(e.to_string()),
    }
}

async fn new_client(http: &Http, i: usize) -> Result<Client, BenchError> {
    let email = format!("load-{i}-{}@example.com", uuid::Uuid::new_v4().simple());
    let credentials = json!({"email": email, "password": PASSWORD});
    let registered = http
        .send(Method::POST, "/auth/register", &[], Some(&credentials))
        .await?;
    if registered.status != StatusCode::CREATED {
        return Err(format!("register: {}", registered.status).into());
    }
    let login = http
        .send(Method::POST, "/auth/login", &[], Some(&credentials))
        .await?;
    let token = login
        .json()
        .and_then(|b| b["access_token"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("login: {}", login.status))?;
    Ok(Client {
        email,
        bearer: format!("Bearer {token}"),
    })
}

/// The route, as one client sends request number `i`.
#[derive(Clone, Copy)]
enum Route {
    Health,
    GetSession,
    PatchOwn,
    PatchShared,
    PostJobs,
    Login,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::Health => HEALTH,
            Route::GetSession => GET_SESSION,
            Route::PatchOwn => PATCH_OWN,
            Route::PatchShared => PATCH_SHARED,
            Route::PostJobs => POST_JOBS,
            Route::Login => LOGIN,
        }
    }

    /// `shared` is the one session every client writes for `PatchShared`, whose
    /// 200s' versions go into `seen`.
    async fn send(
        self,
        http: &Http,
        client: &Client,
        shared: &Client,
        seen: &Mutex<Vec<u64>>,
        i: usize,
    ) -> Verdict {
        match self {
            Route::Health => judge(
                http.send(Method::GET, "/health", &[], None).await,
                StatusCode::OK,
            ),
            Route::GetSession => judge(
                http.send(
                    Method::GET,
                    "/session",
                    &[("authorization", &client.bearer)],
                    None,
                )
                .await,
                StatusCode::OK,
            ),
            Route::PatchShared => patch_shared(http, shared, i, seen).await,
            Route::PatchOwn => {
                let patch = json!({"step": "shipping", "n": i});
                judge(
                    http.send(
                        Method::PATCH,
                        "/session/data",
                        &[("authorization", &client.bearer)],
                        Some(&patch),
                    )
                    .await,
                    StatusCode::OK,
                )
            }
            Route::PostJobs => {
                let key = format!("load-{}", uuid::Uuid::new_v4().simple());
                let job = json!({"kind": "echo", "input": {"n": i}});
                judge(
                    http.send(
                        Method::POST,
                        "/jobs",
                        &[("authorization", &client.bearer), ("idempotency-key", &key)],
                        Some(&job),
                    )
                    .await,
                    StatusCode::ACCEPTED,
                )
            }
            Route::Login => {
                let credentials = json!({"email": client.email, "password": PASSWORD});
                judge(
                    http.send(Method::POST, "/auth/login", &[], Some(&credentials))
                        .await,
                    StatusCode::OK,
                )
            }
        }
    }
}

async fn session_version(http: &Http, who: &Client) -> Result<u64, BenchError> {
    let answer = http
        .send(
            Method::GET,
            "/session",
            &[("authorization", &who.bearer)],
            None,
        )
        .await?;
    answer
        .json()
        .and_then(|b| b["version"].as_u64())
        .ok_or_else(|| format!("GET /session: {} without a version", answer.status).into())
}

pub async fn run(binary: &Path, bounds: Bounds) -> Result<LocalLoad, BenchError> {
    let data_dir = tempfile::tempdir()?;
    let (server, base) = start(binary, data_dir.path())?;
    let http = Http::new(base);
    let most = CLIENTS.iter().copied().max().unwrap_or(1);
    // Two at a time: each registration and login is an Argon2id hash.
    let made: Vec<Result<Client, BenchError>> = futures_util::stream::iter(0..=most)
        .map(|i| {
            let http = http.clone();
            async move { new_client(&http, i).await }
        })
        .buffered(2)
        .collect()
        .await;
    let mut users = made.into_iter().collect::<Result<Vec<_>, _>>()?;
    let shared = Arc::new(users.pop().ok_or("no users were made")?);
    let users: Vec<Arc<Client>> = users.into_iter().map(Arc::new).collect();

    let mut rows = Vec::new();
    let mut shared_session = Ok(String::new());
    for route in [
        Route::Health,
        Route::GetSession,
        Route::PatchOwn,
        Route::PatchShared,
        Route::PostJobs,
        Route::Login,
    ] {
        let mut runs = Vec::new();
        for clients in CLIENTS {
            let before = match route {
                Route::PatchShared => Some(session_version(&http, &shared).await?),
                _ => None,
            };
            let versions: Arc<Mutex<Vec<u64>>> = Arc::default();
            let contexts: Vec<Arc<Client>> = users.iter().take(clients).cloned().collect();
            let (http2, shared2, seen) = (http.clone(), shared.clone(), versions.clone());
            let run = closed_loop(contexts, bounds, move |client, i| {
                let (http, shared, seen) = (http2.clone(), shared2.clone(), seen.clone());
                async move { route.send(&http, &client, &shared, &seen, i).await }
            })
            .await;
            if let Some(before) = before {
                let after = session_version(&http, &shared).await?;
                let check = no_version_lost(before, after, &lock(&versions));
                shared_session = match (shared_session, check) {
                    (Ok(_), Ok(summary)) => Ok(summary),
                    (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                };
            }
            runs.push(run);
        }
        rows.push(LocalRow {
            label: route.label(),
            runs,
        });
    }
    let peak_rss_kib = crate::subject::peak_rss_kib(&server.0).unwrap_or(0);
    drop(server);
    Ok(LocalLoad {
        rows,
        shared_session,
        peak_rss_kib,
    })
}

/// A write to the one shared session; a 200's version is kept for the check.
async fn patch_shared(http: &Http, shared: &Client, i: usize, seen: &Mutex<Vec<u64>>) -> Verdict {
    let patch = json!({"step": "shipping", "n": i});
    let answer = http
        .send(
            Method::PATCH,
            "/session/data",
            &[("authorization", &shared.bearer)],
            Some(&patch),
        )
        .await;
    if let Ok(a) = &answer
        && a.status == StatusCode::OK
    {
        match a.json().and_then(|b| b["version"].as_u64()) {
            Some(version) => lock(seen).push(version),
            None => return Verdict::Error("200 without a version".into()),
        }
    }
    judge(answer, StatusCode::OK)
}

/// Every 200 was a version of its own, and the session moved on by exactly that
/// many: no write was lost, none was counted twice.
fn no_version_lost(before: u64, after: u64, versions: &[u64]) -> Result<String, String> {
    let distinct: HashSet<u64> = versions.iter().copied().collect();
    if distinct.len() != versions.len() {
        return Err(format!(
            "{} writes answered 200 with only {} distinct versions",
            versions.len(),
            distinct.len()
        ));
    }
    let moved = after.saturating_sub(before);
    if moved != versions.len() as u64 {
        return Err(format!(
            "{} writes answered 200 but the version moved by {moved}",
            versions.len()
        ));
    }
    Ok(format!(
        "every 200 a distinct version; the session's version moved by exactly the {} writes answered 200",
        versions.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_or_missing_version_is_a_lost_update() {
        assert!(no_version_lost(3, 6, &[4, 5, 6]).is_ok());
        assert!(
            no_version_lost(3, 6, &[4, 4, 6])
                .unwrap_err()
                .contains("distinct")
        );
        assert!(
            no_version_lost(3, 7, &[4, 5, 6])
                .unwrap_err()
                .contains("moved by 4")
        );
    }

    #[test]
    fn a_503_needs_retry_after_to_be_a_contract_answer() {
        let answer = |status, retry: bool| {
            let mut headers = http::HeaderMap::new();
            if retry {
                headers.insert("retry-after", http::HeaderValue::from_static("1"));
            }
            Ok(Answer {
                status,
                headers,
                body: Default::default(),
            })
        };
        assert!(matches!(
            judge(answer(StatusCode::OK, false), StatusCode::OK),
            Verdict::Ok
        ));
        assert!(matches!(
            judge(
                answer(StatusCode::SERVICE_UNAVAILABLE, true),
                StatusCode::OK
            ),
            Verdict::Refused
        ));
        assert!(matches!(
            judge(
                answer(StatusCode::SERVICE_UNAVAILABLE, false),
                StatusCode::OK
            ),
            Verdict::Error(_)
        ));
        assert!(matches!(
            judge(
                answer(StatusCode::INTERNAL_SERVER_ERROR, false),
                StatusCode::OK
            ),
            Verdict::Error(_)
        ));
    }
}
