//! One module per backend, each behind a cargo feature so a binary links only the
//! backend it uses.

#[cfg(any(feature = "dynamodb", feature = "aws-messaging"))]
pub mod aws_http;
#[cfg(feature = "aws-messaging")]
pub mod aws_messaging;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(any(feature = "dynamodb", feature = "azure", feature = "redis"))]
mod conflict_backoff;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// Amazon Trust Services' roots (Amazon Root CA 1–4 and the Starfield Services G2
/// cross-sign), copied from Debian's ca-certificates: every AWS endpoint chains to
/// one, so the AWS SDK clients and federated login's fetches from a Cognito user
/// pool need no certificate file.
pub(crate) const AMAZON_ROOTS_PEM: &str = include_str!("aws_roots.pem");

/// Adds the embedded Amazon roots to `store`.
pub(crate) fn add_amazon_roots(store: &mut rustls::RootCertStore) -> Result<(), pem::PemError> {
    let amazon = pem::parse_many(AMAZON_ROOTS_PEM)?;
    store.add_parsable_certificates(amazon.into_iter().map(|c| c.into_contents().into()));
    Ok(())
}

/// Adds the platform's CA bundle to `store`: how many roots were added, and how
/// many files or certificates could not be read.
pub(crate) fn add_platform_roots(store: &mut rustls::RootCertStore) -> (usize, usize) {
    let platform = rustls_native_certs::load_native_certs();
    let (added, skipped) = store.add_parsable_certificates(platform.certs);
    (added, skipped + platform.errors.len())
}

/// A TLS client on ring (the provider every HTTPS client in Skiff uses) that
/// trusts `roots`.
pub(crate) fn tls_client_config(
    roots: rustls::RootCertStore,
) -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(
        rustls::ClientConfig::builder_with_provider(
            rustls::crypto::ring::default_provider().into(),
        )
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}
