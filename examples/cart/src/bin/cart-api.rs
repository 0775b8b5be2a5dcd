//! The cart's own Lambda function: its routes; Skiff's functions serve the rest.

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_app_http(skiff_cart::app())
}
