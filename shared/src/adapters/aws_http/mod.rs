//! The one HTTPS client every AWS SDK client in Skiff uses.
//!
//! The SDK crates are built without a default client: theirs brings rustls on
//! aws-lc, whose C library would be the largest single item in a Lambda binary
//! (about 1 MiB of code), and HTTP/2, which the JSON APIs Skiff calls do not need.
//! This one is hyper's pooled HTTP/1.1 client with rustls on ring, the stack that
//! federated login and the Azure host already use and that Skiff's access tokens
//! are signed on: the same TLS 1.2/1.3 suites AWS endpoints offer, at a fraction of
//! the size. Cold start and the 6 MB binary budget are why.
//!
//! The roots it trusts are, by default, the five that every AWS service endpoint
//! chains to (Amazon Trust Services: Amazon Root CA 1–4 and the Starfield Services
//! G2 cross-sign), embedded in the binary. The platform's bundle is the other
//! choice: reading and parsing it (about 150 files on Amazon Linux and Debian) is
//! init work that no AWS call needs.

mod connector;
mod failures;

use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::shared::IntoShared;

use connector::HyperClient;

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

/// A pooled HTTP/1.1 client with rustls on ring. It speaks plain HTTP too, which
/// the emulated-AWS mode and the tests use to reach moto. Nothing is built until
/// the first request: making an SDK client reads no roots and opens nothing.
pub fn https_client(roots: TlsRoots) -> SharedHttpClient {
    hyper_client(roots).into_shared()
}

fn hyper_client(roots: TlsRoots) -> HyperClient {
    HyperClient::new(Box::new(move || {
        let mut store = rustls::RootCertStore::empty();
        match roots {
            TlsRoots::Amazon => super::add_amazon_roots(&mut store)?,
            TlsRoots::System => {
                let (added, unreadable) = super::add_platform_roots(&mut store);
                tracing::debug!(added, unreadable, "the platform's TLS roots read");
            }
        }
        Ok(super::tls_client_config(store)?)
    }))
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::super::AMAZON_ROOTS_PEM as AMAZON_ROOTS;
    use super::*;

    /// The embedded roots are five well-formed certificates, and all five are
    /// trusted (a malformed one would be skipped, and its endpoints refused).
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
        let mut store = rustls::RootCertStore::empty();
        super::super::add_amazon_roots(&mut store).unwrap();
        assert_eq!(store.len(), 5);
        assert_eq!("amazon".parse(), Ok(TlsRoots::Amazon));
        assert_eq!("system".parse(), Ok(TlsRoots::System));
        assert!("mozilla".parse::<TlsRoots>().is_err());
    }

    /// The request heads a test server received, lower-cased, in arrival order.
    #[cfg(feature = "dynamodb")]
    type Heads = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

    /// A plain-HTTP server on loopback that answers every request with `answer`,
    /// counts the connections it accepted and keeps the request heads.
    #[cfg(feature = "dynamodb")]
    async fn answering_server(
        answer: &'static [u8],
    ) -> (
        String,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        Heads,
    ) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let heads = Heads::default();
        let kept = heads.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0_u8; 64 * 1024];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(read) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buffer[..read]);
                        // The SDK's requests carry a Content-Length body; answer
                        // once the headers and that body have arrived.
                        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        if seen.len() < end + 4 + length {
                            continue;
                        }
                        kept.lock().unwrap().push(head);
                        seen.drain(..end + 4 + length);
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                        if !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                            // An answer cut short in its head: close the connection.
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted, heads)
    }

    #[cfg(feature = "dynamodb")]
    fn dynamodb_client(
        http: SharedHttpClient,
        endpoint: &str,
        attempts: u32,
    ) -> aws_sdk_dynamodb::Client {
        use aws_sdk_dynamodb::config::retry::RetryConfig;
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .http_client(http)
            .region(Region::new("us-east-1"))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .credentials_provider(Credentials::new("test", "test", None, None, "skiff-tests"))
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    #[cfg(feature = "dynamodb")]
    async fn get_item(
        client: &aws_sdk_dynamodb::Client,
    ) -> Result<
        aws_sdk_dynamodb::operation::get_item::GetItemOutput,
        aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
    > {
        client
            .get_item()
            .table_name("t")
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
            .send()
            .await
    }

    const EMPTY_ITEM: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";

    /// Making SDK clients builds no pool (no roots read, nothing opened); the
    /// first request builds the one pool, and later requests reuse its connection.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn one_pool_is_built_at_the_first_request_and_its_connection_is_reused() {
        use std::sync::atomic::Ordering;

        let (url, accepted, _) = answering_server(EMPTY_ITEM).await;
        let http = hyper_client(TlsRoots::Amazon);
        let client = dynamodb_client(http.clone().into_shared(), &url, 1);
        let _another = dynamodb_client(http.clone().into_shared(), &url, 1);
        assert_eq!(http.pools(), 0, "an SDK client made at init builds nothing");
        for _ in 0..3 {
            let read = get_item(&client).await;
            assert!(read.is_ok(), "{read:?}");
            assert!(read.unwrap().item.is_none());
        }
        assert_eq!(http.pools(), 1);
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection, kept alive"
        );
    }

    /// With several invocations in flight in one environment (Lambda Managed
    /// Instances), every AWS call carries the X-Ray trace header of the invocation
    /// that made it, never another's, and a call outside any invocation carries none.
    #[cfg(feature = "dynamodb")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_call_carries_the_trace_header_of_its_own_invocation() {
        use crate::telemetry::xray;

        let (url, _, heads) = answering_server(EMPTY_ITEM).await;
        let client = dynamodb_client(https_client(TlsRoots::Amazon), &url, 1);
        let traces: Vec<String> = (0..4)
            .map(|i| format!("Root=1-6753a1f0-00000000000000000000000{i};Sampled=1"))
            .collect();
        let invocations: Vec<_> = traces
            .iter()
            .map(|trace| {
                let (client, trace) = (client.clone(), trace.clone());
                tokio::spawn(async move {
                    xray::scope(Some(&trace), async {
                        for _ in 0..3 {
                            get_item(&client).await.unwrap();
                            tokio::task::yield_now().await;
                        }
                    })
                    .await;
                })
            })
            .collect();
        for invocation in invocations {
            invocation.await.unwrap();
        }
        get_item(&client).await.unwrap();
        let heads = heads.lock().unwrap().clone();
        assert_eq!(heads.len(), 13);
        let trace_of = |head: &String| {
            head.lines()
                .find_map(|line| line.strip_prefix("x-amzn-trace-id: "))
                .map(str::to_owned)
        };
        for trace in &traces {
            let carried = heads
                .iter()
                .filter(|h| trace_of(h) == Some(trace.to_ascii_lowercase()))
                .count();
            assert_eq!(carried, 3, "{trace}: {heads:#?}");
        }
        assert_eq!(
            trace_of(heads.last().unwrap()),
            None,
            "outside any invocation"
        );
    }

    /// A refused connection is an I/O failure, which the SDK retries; the error
    /// says what happened.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn a_refused_connection_is_an_io_failure_the_sdk_retries() {
        // Bind and drop, so the port is (very likely) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = dynamodb_client(
            https_client(TlsRoots::Amazon),
            &format!("http://127.0.0.1:{port}"),
            2,
        );
        let error = get_item(&client).await.unwrap_err();
        let aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) = &error else {
            panic!("not a dispatch failure: {error:?}");
        };
        assert!(failure.is_io(), "{error:?}");
        assert!(failure.as_other().is_none());
    }

    /// A server that closes the connection part-way through its answer fails the
    /// call as transient (retried), and the client does not hang.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn an_answer_cut_short_is_a_transient_failure_and_is_retried() {
        use std::sync::atomic::Ordering;

        const CUT: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: appl";
        let (url, accepted, _) = answering_server(CUT).await;
        let client = dynamodb_client(https_client(TlsRoots::Amazon), &url, 3);
        let error = get_item(&client).await.unwrap_err();
        assert!(
            matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
            "{error:?}"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            3,
            "every attempt on a new connection"
        );
    }

    /// After a transient failure (a 500) the SDK drops the connection it came on,
    /// and the retry opens a new one rather than ask the same server again on it.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn a_connection_that_answered_a_transient_error_is_not_reused() {
        use std::sync::atomic::Ordering;

        const FAILED: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
        let (url, accepted, _) = answering_server(FAILED).await;
        let client = dynamodb_client(https_client(TlsRoots::Amazon), &url, 2);
        let error = get_item(&client).await.unwrap_err();
        assert!(
            matches!(error, aws_sdk_dynamodb::error::SdkError::ServiceError(_)),
            "{error:?}"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "the retry on a new connection"
        );
    }

    /// The read timeout of the SDK's settings bounds the wait for an answer.
    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                open.push(socket);
            }
        });
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(url)
            .http_client(https_client(TlsRoots::Amazon))
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .read_timeout(std::time::Duration::from_millis(200))
                    .build(),
            )
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "skiff-tests",
            ))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let error = get_item(&client).await.unwrap_err();
        let aws_sdk_dynamodb::error::SdkError::DispatchFailure(failure) = &error else {
            panic!("not a dispatch failure: {error:?}");
        };
        assert!(failure.is_timeout(), "{error:?}");
        held.abort();
    }
}
