//! The cart as the Azure Functions custom handler: Skiff's contract, the cart's
//! routes and, in the queue-triggered functions, its job and subscriber.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    skiff::telemetry::init();
    match skiff::hosts::azure::run_app(skiff_cart::app()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cart-azure: {e}");
            ExitCode::FAILURE
        }
    }
}
