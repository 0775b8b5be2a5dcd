//! The login Lambda function; its routes and init live in `skiff::hosts::lambda`.

use skiff::hosts::lambda::{Function, run};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    run(Function::Login).await
}
