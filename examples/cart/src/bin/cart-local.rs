//! The cart on the local server (`make example`): Skiff's contract and the cart.

use std::process::ExitCode;

use skiff::hosts::local::{self, LocalConfig};

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = skiff::telemetry::init() {
        eprintln!("cart-local: {e}");
        return ExitCode::FAILURE;
    }
    let result = match LocalConfig::from_env() {
        Ok(config) => local::run_app(config, skiff_cart::app())
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cart-local: {message}");
            ExitCode::FAILURE
        }
    }
}
