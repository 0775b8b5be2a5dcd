//! The AWS SDK's HTTP client, on the hyper client the rest of Skiff already links.
//!
//! Written here rather than taken from `aws-smithy-http-client`: that crate always
//! links HTTP/2 (`h2` and hyper's HTTP/2 client, about 0.3 MB of every function)
//! and has no feature to leave it out, while the JSON APIs Skiff calls (DynamoDB,
//! SQS, SNS, Step Functions, Secrets Manager) answer HTTP/1.1. What it takes from
//! that client is what the SDK relies on: one connection pool per set of timeout
//! settings, the connect and read timeouts, errors sorted into the kinds the SDK's
//! retry strategy acts on, and a handle with which the SDK drops a connection after
//! a transient failure rather than reuse it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connection::{CaptureSmithyConnection, ConnectionMetadata};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::{HttpConnector as TcpConnector, capture_connection};
use hyper_util::client::legacy::{Client, Error as ClientError};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::failures::{failed_on_aws_side, service_of};
use crate::telemetry::xray;

/// An idle pooled connection is closed after this long: AWS's endpoints close
/// theirs after about a minute, and reusing one they closed costs a retry.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// Requests go out as one buffer (`Full`), the body type federated login's and the
/// Azure host's clients send: one copy of hyper's client code in a binary rather
/// than one per body type (about 0.1 MB each). The SDK's JSON APIs always hand
/// over a request body in memory.
type Pool = Client<hyper_rustls::HttpsConnector<TcpConnector>, Full<Bytes>>;

/// Makes the TLS settings of a pool; called at the first request, not at init.
pub(super) type TlsConfigFn =
    dyn Fn() -> Result<rustls::ClientConfig, BoxError> + Send + Sync + 'static;

/// Every SDK client of a process shares one of these (through `SdkConfig`); a
/// clone shares its pools.
#[derive(Clone)]
pub(super) struct HyperClient {
    tls: Arc<TlsConfigFn>,
    /// One pool per distinct timeout settings; in practice a single entry, so a
    /// list read under a read lock.
    pools: Arc<RwLock<Vec<(Timeouts, SharedHttpConnector)>>>,
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperClient").finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timeouts {
    connect: Option<Duration>,
    read: Option<Duration>,
}

impl HyperClient {
    pub(super) fn new(tls: Box<TlsConfigFn>) -> Self {
        Self {
            tls: Arc::from(tls),
            pools: Arc::default(),
        }
    }

    /// How many pools have been built (the tests check none is at init).
    #[cfg(test)]
    pub(super) fn pools(&self) -> usize {
        self.pools.read().map_or(0, |pools| pools.len())
    }

    fn build(&self, timeouts: Timeouts) -> SharedHttpConnector {
        let tls = match (self.tls)() {
            Ok(tls) => tls,
            // Every call of this connector then fails with the reason. It is
            // kept like a working one: the roots and settings it was made from
            // are fixed for the process, so asking again would fail again.
            Err(error) => return Unusable(Arc::from(error.to_string())).into_shared(),
        };
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(timeouts.connect);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Connector {
            pool,
            read_timeout: timeouts.read,
        }
        .into_shared()
    }
}

impl HttpClient for HyperClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = Timeouts {
            connect: settings.connect_timeout(),
            read: settings.read_timeout(),
        };
        let cached = |pools: &[(Timeouts, SharedHttpConnector)]| {
            pools
                .iter()
                .find(|(key, _)| *key == timeouts)
                .map(|(_, connector)| connector.clone())
        };
        // A poisoned lock only means another thread panicked while adding a pool;
        // the list itself is always whole, so it is used as it is.
        if let Some(connector) = cached(&self.pools.read().unwrap_or_else(|e| e.into_inner())) {
            return connector;
        }
        let mut pools = self.pools.write().unwrap_or_else(|e| e.into_inner());
        if let Some(connector) = cached(&pools) {
            return connector;
        }
        let connector = self.build(timeouts);
        pools.push((timeouts, connector.clone()));
        connector
    }
}

/// One pool of connections, with the read timeout of its settings.
#[derive(Debug, Clone)]
struct Connector {
    pool: Pool,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let backend = service_of(request.headers().get("authorization"));
        let (parts, body) = match request.try_into_http1x() {
            Ok(request) => request.into_parts(),
            Err(error) => {
                return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into())));
            }
        };
        let Some(bytes) = body.bytes() else {
            let streaming: BoxError = "a streaming request body (no Skiff call sends one)".into();
            return HttpConnectorFuture::ready(Err(ConnectorError::user(streaming)));
        };
        let mut request =
            http::Request::from_parts(parts, Full::new(Bytes::copy_from_slice(bytes)));
        // Added here, once for every SDK client of the process, rather than by an
        // interceptor on each client's config. The header is not signed (SigV4
        // leaves it out), so adding it after signing changes no signature.
        if !request.headers().contains_key(xray::TRACE_HEADER)
            && let Some(trace) = xray::current()
        {
            request.headers_mut().insert(xray::TRACE_HEADER, trace);
        }
        if let Some(capture) = request
            .extensions()
            .get::<CaptureSmithyConnection>()
            .cloned()
        {
            let connection = capture_connection(&mut request);
            capture.set_connection_retriever(move || {
                let connection = connection.clone();
                connection.connection_metadata().as_ref()?;
                Some(
                    ConnectionMetadata::builder()
                        .proxied(false)
                        .poison_fn(move || {
                            if let Some(connected) = connection.connection_metadata().as_ref() {
                                connected.poison();
                            }
                        })
                        .build(),
                )
            });
        }
        let answer = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answer = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, answer).await {
                    Ok(answer) => answer,
                    Err(_) => {
                        crate::telemetry::metric::backend_error(backend);
                        return Err(ConnectorError::timeout(Box::new(ReadTimeout(limit))));
                    }
                },
                None => answer.await,
            };
            let result = match answer {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|error| ConnectorError::other(error.into(), None)),
                Err(error) => Err(connector_error(error)),
            };
            if result.as_ref().map_or(true, failed_on_aws_side) {
                crate::telemetry::metric::backend_error(backend);
            }
            result
        })
    }
}

/// No answer began within the settings' read timeout.
#[derive(Debug, thiserror::Error)]
#[error("no answer within the read timeout of {0:?}")]
struct ReadTimeout(Duration);

/// The connector of a client whose TLS settings could not be made.
#[derive(Debug)]
struct Unusable(Arc<str>);

impl HttpConnector for Unusable {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        let reason: BoxError = format!("the HTTPS client could not be set up: {}", self.0).into();
        HttpConnectorFuture::ready(Err(ConnectorError::user(reason)))
    }
}

/// Sorts a failed exchange into the kinds the SDK's retry strategy acts on: a
/// timeout or an I/O failure (no connection, a connection reset or closed) is
/// retried; a request the client refused to send is not.
fn connector_error(error: ClientError) -> ConnectorError {
    let connect = error.is_connect();
    let boxed: BoxError = Box::new(error);
    if let Some(io) = find_source::<std::io::Error>(boxed.as_ref()) {
        return if io.kind() == std::io::ErrorKind::TimedOut {
            ConnectorError::timeout(boxed)
        } else {
            ConnectorError::io(boxed)
        };
    }
    if let Some(hyper) = find_source::<hyper::Error>(boxed.as_ref()) {
        if hyper.is_timeout() {
            return ConnectorError::timeout(boxed);
        }
        if hyper.is_user() {
            return ConnectorError::user(boxed);
        }
        if hyper.is_closed() || hyper.is_canceled() {
            return ConnectorError::io(boxed);
        }
        // The server closed the connection part-way through its answer.
        if hyper.is_incomplete_message() {
            return ConnectorError::other(boxed, Some(ErrorKind::TransientError));
        }
    }
    if connect {
        return ConnectorError::io(boxed);
    }
    ConnectorError::other(boxed, None)
}

fn find_source<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}
