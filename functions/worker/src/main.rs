//! The job worker Lambda function (SQS); its handler lives in `skiff::hosts::lambda`.

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    skiff::hosts::lambda::run_worker()
}
