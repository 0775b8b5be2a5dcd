//! The job worker with the cart's `checkout` kind next to Skiff's.

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_worker_with(skiff_cart::app())
}
