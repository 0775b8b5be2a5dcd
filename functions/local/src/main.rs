//! `skiff-local`: the whole Skiff contract on one machine, no cloud needed.

use std::process::ExitCode;

use skiff::hosts::local::{self, LocalConfig};

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = skiff::telemetry::init() {
        eprintln!("skiff-local: {e}");
        return ExitCode::FAILURE;
    }
    let result = match LocalConfig::from_env() {
        Ok(config) => local::run(config).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!(error = %message, "start-up failed");
            eprintln!("skiff-local: {message}");
            ExitCode::FAILURE
        }
    }
}
