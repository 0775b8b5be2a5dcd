//! `skiff-azure`: the Azure Functions custom handler; everything lives in
//! `skiff::hosts::azure`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = skiff::telemetry::init() {
        eprintln!("skiff-azure: {e}");
        return ExitCode::FAILURE;
    }
    match skiff::hosts::azure::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            eprintln!("skiff-azure: {e}");
            ExitCode::FAILURE
        }
    }
}
