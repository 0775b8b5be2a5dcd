//! Reads an issuer's discovery document and JWKS over HTTPS.
//!
//! A small hyper client rather than reqwest: the Azure adapter already uses hyper
//! with rustls on ring, so this adds no second HTTP or TLS stack to a binary.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use crate::ports::StoreError;

/// A JWKS is a few keys; a larger answer is not one.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// A slow issuer fails the login that waits for it (503) rather than holding it.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The body type is the one the AWS SDK's client and the Azure client send too, so
/// a binary carries one copy of hyper's client code for all of them.
type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Amazon's roots and the platform's, so Cognito works everywhere and other
/// issuers (Entra ID) wherever the platform has a CA bundle.
fn build_client() -> Result<HttpsClient, StoreError> {
    let mut roots = RootCertStore::empty();
    crate::adapters::add_amazon_roots(&mut roots)
        .map_err(|e| StoreError::new("read the embedded TLS roots", e))?;
    let (added, unreadable) = crate::adapters::add_platform_roots(&mut roots);
    tracing::debug!(
        platform_roots = added,
        unreadable,
        "federated login's HTTPS client built"
    );
    let tls = crate::adapters::tls_client_config(roots)
        .map_err(|e| StoreError::new("configure TLS", e))?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector))
}

/// Built at the first fetch, so a process that never sees a federated login never
/// reads the platform's bundle.
async fn client() -> Result<&'static HttpsClient, StoreError> {
    static CLIENT: OnceCell<HttpsClient> = OnceCell::const_new();
    CLIENT.get_or_try_init(|| async { build_client() }).await
}

/// GETs `url` and decodes its JSON body. Anything but a 200 with a body under the
/// limit is an error: the caller answers 503 and tries again later.
pub(super) async fn get_json<T: DeserializeOwned>(
    url: &Url,
    context: &'static str,
) -> Result<T, StoreError> {
    let request = Request::get(url.as_str())
        .header(header::ACCEPT, "application/json")
        .body(Full::new(Bytes::new()))
        .map_err(|e| StoreError::new(context, e))?;
    let client = client().await?;
    let response = tokio::time::timeout(FETCH_TIMEOUT, client.request(request))
        .await
        .map_err(|_| StoreError::new(context, "timed out"))?
        .map_err(|e| StoreError::new(context, e))?;
    if response.status() != StatusCode::OK {
        return Err(StoreError::new(
            context,
            format!("the issuer answered {}", response.status()),
        ));
    }
    let body = tokio::time::timeout(
        FETCH_TIMEOUT,
        Limited::new(response.into_body(), MAX_BODY_BYTES).collect(),
    )
    .await
    .map_err(|_| StoreError::new(context, "timed out"))?
    .map_err(|e| StoreError::new(context, e))?
    .to_bytes();
    serde_json::from_slice(&body).map_err(|e| StoreError::new(context, e))
}
