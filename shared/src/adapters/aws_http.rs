//! The one HTTPS client every AWS SDK client in Skiff uses.
//!
//! The SDK's `default-https-client` feature pulls in rustls on aws-lc, whose C
//! library is the largest single item in a Lambda binary (about 1.3 MiB of code).
//! ring gives the same TLS 1.2/1.3 suites AWS endpoints offer at a quarter of the
//! size, so the SDK crates are built without a default client and get this one.
//! Cold start and the 8 MB binary budget are why; nothing else changes.
//!
//! The roots it trusts are, by default, the five that every AWS service endpoint
//! chains to (Amazon Trust Services: Amazon Root CA 1–4 and the Starfield Services
//! G2 cross-sign), embedded in the binary. The platform's bundle is the other
//! choice: reading and parsing it (about 150 files on Amazon Linux and Debian) is
//! init work that no AWS call needs.

use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
// The same type, re-exported by every SDK crate; take it from whichever is built.
#[cfg(feature = "dynamodb")]
use aws_sdk_dynamodb::config::SharedHttpClient;
#[cfg(not(feature = "dynamodb"))]
use aws_sdk_sqs::config::SharedHttpClient;

/// Amazon Trust Services' roots, copied from Debian's ca-certificates.
const AMAZON_ROOTS: &str = include_str!("aws_roots.pem");

/// Which certificate authorities the client trusts (`SKIFF_TLS_ROOTS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsRoots {
    /// The roots of AWS's own endpoints, embedded: no file is read at init.
    #[default]
    Amazon,
    /// The platform's bundle: for an HTTPS endpoint behind another CA
    /// (`AWS_ENDPOINT_URL` pointing at a proxy or an emulator with TLS).
    System,
}

impl std::str::FromStr for TlsRoots {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "amazon" => Ok(TlsRoots::Amazon),
            "system" => Ok(TlsRoots::System),
            _ => Err("expected amazon or system".into()),
        }
    }
}

/// A pooled hyper client with rustls on ring. It speaks plain HTTP too, which the
/// emulated-AWS mode and the tests use to reach moto.
pub fn https_client(roots: TlsRoots) -> SharedHttpClient {
    let store = match roots {
        TlsRoots::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_ROOTS.as_bytes()),
        TlsRoots::System => TrustStore::default(),
    };
    let builder = Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    // Building a context only fails on invalid extra server names, which are never set.
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// The embedded roots are five well-formed certificates (the TLS provider panics
    /// on a malformed one, so this must never regress).
    #[test]
    fn the_embedded_roots_are_five_certificates() {
        let bodies: Vec<Vec<u8>> = AMAZON_ROOTS
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|block| {
                let body = block
                    .split("-----END CERTIFICATE-----")
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .collect::<String>();
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64 body")
            })
            .collect();
        assert_eq!(bodies.len(), 5);
        for der in &bodies {
            // An X.509 certificate is a DER SEQUENCE with a two-byte length.
            assert_eq!(&der[..2], &[0x30, 0x82]);
            let len = usize::from(der[2]) << 8 | usize::from(der[3]);
            assert_eq!(der.len(), len + 4);
        }
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 4",
            "Starfield Services Root",
        ] {
            let encoded = name.as_bytes();
            assert!(
                bodies
                    .iter()
                    .any(|der| der.windows(encoded.len()).any(|w| w == encoded)),
                "{name} is missing"
            );
        }
        assert_eq!("amazon".parse(), Ok(TlsRoots::Amazon));
        assert_eq!("system".parse(), Ok(TlsRoots::System));
        assert!("mozilla".parse::<TlsRoots>().is_err());
    }
}
