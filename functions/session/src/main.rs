//! The session Lambda function; its routes and init live in `skiff::hosts::lambda`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_session().await
}
