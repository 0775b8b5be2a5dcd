//! `make bench`: see the package description and docs/benchmarks.md.

mod batch;
mod config;
mod delay_proxy;
mod events;
mod http_client;
mod lambda_load;
mod load;
mod local_load;
mod measure;
mod metrics_overhead;
mod redis_sessions;
mod report;
mod report_load;
mod scenarios;
mod stats;
mod subject;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match scenarios::run().await {
        Ok(Some(path)) => {
            println!("wrote {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Ok(None) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
