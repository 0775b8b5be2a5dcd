//! `make bench`: see the package description and docs/benchmarks.md.

mod batch;
mod config;
mod events;
mod measure;
mod redis_sessions;
mod report;
mod scenarios;
mod stats;
mod subject;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match scenarios::run().await {
        Ok(path) => {
            println!("wrote {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
