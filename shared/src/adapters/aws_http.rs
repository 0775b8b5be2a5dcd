//! The one HTTPS client every AWS SDK client in Skiff uses.
//!
//! The SDK's `default-https-client` feature pulls in rustls on aws-lc, whose C
//! library would be the largest single item in a Lambda binary (about 1 MiB of
//! code); ring is also what Skiff's access tokens are signed and verified on.
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
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

use super::AMAZON_ROOTS_PEM as AMAZON_ROOTS;

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
    let hyper = match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    };
    NoConnectorAtInit(hyper).into_shared()
}

/// The SDK's hyper client without its check at client creation.
///
/// `HyperClient::validate_base_client_config` builds a TLS connector and throws it
/// away, so that a platform's certificate bundle is read at init rather than at the
/// first request. Skiff's default roots are embedded, and it ran for every SDK
/// client made: a function with three clients parsed its roots three times at init
/// (about 0.29 M instructions each, measured with callgrind), and once more at its
/// first request, which builds the connector that is actually kept. This client
/// skips the check; connectors are built and cached by the wrapped client as before.
#[derive(Debug)]
struct NoConnectorAtInit(SharedHttpClient);

impl HttpClient for NoConnectorAtInit {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        CountingFailures(self.0.http_connector(settings, components)).into_shared()
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Counts every AWS call that failed on AWS's side (`BackendErrors` by service):
/// no answer, a 5xx, or throttling. A 4xx such as a failed condition is the
/// service answering as designed, and the adapters handle it. Here, at the one
/// connector every SDK client shares, rather than at each of the adapters' calls.
#[derive(Debug)]
struct CountingFailures(SharedHttpConnector);

impl HttpConnector for CountingFailures {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let backend = service_of(request.headers().get("authorization"));
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let result = call.await;
            if result.as_ref().map_or(true, failed_on_aws_side) {
                crate::telemetry::metric::backend_error(backend);
            }
            result
        })
    }
}

fn failed_on_aws_side(response: &HttpResponse) -> bool {
    let status = response.status().as_u16();
    let throttled = response
        .headers()
        .get("x-amzn-errortype")
        .is_some_and(|kind| {
            [
                "Throttl",
                "ProvisionedThroughputExceeded",
                "RequestLimitExceeded",
            ]
            .iter()
            .any(|k| kind.contains(k))
        });
    status >= 500 || status == 429 || throttled
}

/// The service a request was signed for: SigV4's credential scope ends
/// `/<region>/<service>/aws4_request`.
fn service_of(authorization: Option<&str>) -> &'static str {
    let service = authorization
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split([',', ' ']).next())
        .and_then(|scope| scope.split('/').nth(3));
    match service {
        Some("dynamodb") => "dynamodb",
        Some("sqs") => "sqs",
        Some("sns") => "sns",
        Some("states") => "states",
        Some("secretsmanager") => "secretsmanager",
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn a_failure_is_counted_under_the_service_the_request_was_signed_for() {
        let signed = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(service_of(Some(signed)), "dynamodb");
        assert_eq!(
            service_of(Some(&signed.replace("dynamodb", "states"))),
            "states"
        );
        assert_eq!(service_of(None), "aws");
        assert_eq!(service_of(Some("Bearer x")), "aws");
    }

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

    /// What the SDK asks of the HTTP client it is given; every request gets `{}`.
    #[cfg(feature = "dynamodb")]
    mod recording {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use aws_smithy_runtime_api::box_error::BoxError;
        use aws_smithy_runtime_api::client::http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpConnector,
        };
        use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
        use aws_smithy_runtime_api::client::runtime_components::{
            RuntimeComponents, RuntimeComponentsBuilder,
        };
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::config_bag::ConfigBag;

        #[derive(Debug, Default)]
        pub struct Recording {
            pub checked: AtomicUsize,
            pub connectors: AtomicUsize,
        }

        #[derive(Debug, Clone, Default)]
        pub struct RecordingClient(pub Arc<Recording>);

        impl RecordingClient {
            pub fn checked(&self) -> usize {
                self.0.checked.load(Ordering::SeqCst)
            }
            pub fn connectors(&self) -> usize {
                self.0.connectors.load(Ordering::SeqCst)
            }
        }

        impl HttpClient for RecordingClient {
            fn http_connector(
                &self,
                _: &HttpConnectorSettings,
                _: &RuntimeComponents,
            ) -> SharedHttpConnector {
                self.0.connectors.fetch_add(1, Ordering::SeqCst);
                SharedHttpConnector::new(EmptyObject)
            }

            fn validate_base_client_config(
                &self,
                _: &RuntimeComponentsBuilder,
                _: &ConfigBag,
            ) -> Result<(), BoxError> {
                self.0.checked.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }

        #[derive(Debug)]
        struct EmptyObject;

        impl HttpConnector for EmptyObject {
            fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
                let ok = StatusCode::try_from(200_u16).expect("200 is a status");
                HttpConnectorFuture::ready(Ok(HttpResponse::new(ok, SdkBody::from("{}"))))
            }
        }
    }

    #[cfg(feature = "dynamodb")]
    fn dynamodb_config(http: SharedHttpClient) -> aws_sdk_dynamodb::Config {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url("http://127.0.0.1:9")
            .http_client(http)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "skiff-tests"))
            .build()
    }

    /// The SDK checks an HTTP client once per SDK client made (the hyper client
    /// builds a TLS connector to do so); Skiff's client skips that, and requests
    /// still reach the connector it wraps.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn sdk_clients_are_made_without_building_a_connector() {
        use aws_sdk_dynamodb::types::AttributeValue;

        let bare = recording::RecordingClient::default();
        let config = dynamodb_config(bare.clone().into_shared());
        let _one = aws_sdk_dynamodb::Client::from_conf(config.clone());
        let _two = aws_sdk_dynamodb::Client::from_conf(config);
        assert_eq!(
            bare.checked(),
            2,
            "the SDK checks each client's HTTP client"
        );

        let wrapped = recording::RecordingClient::default();
        let config =
            dynamodb_config(NoConnectorAtInit(wrapped.clone().into_shared()).into_shared());
        let client = aws_sdk_dynamodb::Client::from_conf(config.clone());
        let _two = aws_sdk_dynamodb::Client::from_conf(config);
        assert_eq!(wrapped.checked(), 0);
        assert_eq!(wrapped.connectors(), 0);
        let read = client
            .get_item()
            .table_name("t")
            .key("pk", AttributeValue::S("a".into()))
            .send()
            .await;
        assert!(read.is_ok(), "{read:?}");
        assert_eq!(wrapped.connectors(), 1);
    }
}
