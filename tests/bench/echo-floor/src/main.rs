//! The physical floor for a Rust Lambda function: the runtime loop and nothing else,
//! built with the same release profile as the Skiff functions, so `make bench` can
//! say how much Skiff adds on top.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
