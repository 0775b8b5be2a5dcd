//! The cart as the Azure Functions custom handler: Skiff's contract, the cart's
//! routes and, in the queue-triggered functions, its job and subscriber.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = skiff::telemetry::init() {
        eprintln!("cart-azure: {e}");
        return ExitCode::FAILURE;
    }
    match skiff::hosts::azure::run_app(skiff_cart::app()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cart-azure: {e}");
            ExitCode::FAILURE
        }
    }
}
