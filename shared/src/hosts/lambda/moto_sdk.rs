//! moto's settings for the worker tests, given the way Lambda gives its own.

use super::AwsEnv;
use crate::adapters::dynamodb::test_support::{moto_credentials, moto_endpoint};
use crate::config::Env;

/// moto's settings, given to the functions the way Lambda gives its own: through
/// the variables `AwsEnv` reads.
pub(super) fn moto_sdk() -> aws_types::SdkConfig {
    let endpoint = moto_endpoint();
    let (id, secret) = moto_credentials();
    AwsEnv::from(&Env::from_pairs(&[
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ]))
    .expect("moto settings are complete")
    .sdk_config()
}
