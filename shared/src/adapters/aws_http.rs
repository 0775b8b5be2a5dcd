//! The one HTTPS client every AWS SDK client in Skiff uses.
//!
//! The SDK's `default-https-client` feature pulls in rustls on aws-lc, whose C
//! library is the largest single item in a Lambda binary (about 1.3 MiB of code).
//! ring gives the same TLS 1.2/1.3 suites AWS endpoints offer at a quarter of the
//! size, so the SDK crates are built without a default client and get this one.
//! Cold start and the 8 MB binary budget are why; nothing else changes.

// The same type, re-exported by every SDK crate; take it from whichever is built.
#[cfg(feature = "dynamodb")]
use aws_sdk_dynamodb::config::SharedHttpClient;
#[cfg(not(feature = "dynamodb"))]
use aws_sdk_sqs::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// A pooled hyper client with rustls on ring. It speaks plain HTTP too, which the
/// emulated-AWS mode and the tests use to reach moto.
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
