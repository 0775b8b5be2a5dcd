//! The jobs Lambda function; its routes and init live in `skiff::hosts::lambda`.

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_jobs()
}
