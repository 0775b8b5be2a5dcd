//! The HTTP side of Azure Storage: one pooled hyper client per process, every request
//! dated, versioned and authorised (SharedKey signature or SAS token).
//!
//! SharedKey is written by hand: the official `azure_storage_*` 1.x crates do not
//! offer it, and Azurite (and connection strings in general) need it. The two
//! string-to-sign formats are Microsoft's "Authorize with Shared Key" document:
//! Table storage signs verb, Content-MD5, Content-Type, date and resource; Queue
//! storage signs the full header list plus the canonicalized `x-ms-` headers and
//! every query parameter.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use url::Url;

use super::account::{Credential, StorageAccount};
use crate::ports::StoreError;

/// The REST version every request asks for (supported by Azure, Azurite and
/// Cosmos DB for Table).
const API_VERSION: &str = "2021-12-02";
/// A storage call that takes longer than this is failed (and retried by whoever
/// owns the work) rather than holding a request or a queue message.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Table,
    Queue,
}

pub(crate) type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Cheap to clone; build once per process.
#[derive(Clone)]
pub struct StorageClient {
    http: HttpsClient,
    account: std::sync::Arc<StorageAccount>,
}

/// A storage error answer: its status and the service's error code.
#[derive(Debug, thiserror::Error)]
#[error("azure storage answered {status}: {code}")]
pub struct ServiceError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Storage's error code (`x-ms-error-code`).
    pub code: String,
}

/// A whole answer, body read.
pub(crate) struct StorageResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl StorageResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        context: &'static str,
    ) -> Result<T, StoreError> {
        serde_json::from_slice(&self.body).map_err(|e| StoreError::new(context, e))
    }

    pub fn text(&self, context: &'static str) -> Result<&str, StoreError> {
        std::str::from_utf8(&self.body).map_err(|e| StoreError::new(context, e))
    }
}

/// A pooled HTTP/1 client for Azure's endpoints (and plain HTTP for emulators):
/// rustls on ring with the platform's roots.
pub(crate) fn https_client() -> std::io::Result<HttpsClient> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector))
}

impl StorageClient {
    /// Builds the pooled HTTP client. TLS (for real endpoints) is rustls on ring
    /// with the platform's roots.
    pub fn new(account: StorageAccount) -> Result<Self, StoreError> {
        let http =
            https_client().map_err(|e| StoreError::new("load the platform's TLS roots", e))?;
        Ok(Self {
            http,
            account: std::sync::Arc::new(account),
        })
    }

    /// The account it signs for.
    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    pub(crate) fn endpoint(&self, service: Service) -> &str {
        match service {
            Service::Table => &self.account.table_endpoint,
            Service::Queue => &self.account.queue_endpoint,
        }
    }

    /// Sends a request to `path` (starting with `/`; keys in it need no escaping)
    /// with `query` pairs (unencoded), and reads the whole answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send(
        &self,
        service: Service,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        mut headers: HeaderMap,
        body: Option<Vec<u8>>,
        context: &'static str,
    ) -> Result<StorageResponse, StoreError> {
        let mut url = Url::parse(&format!("{}{path}", self.endpoint(service)))
            .map_err(|e| StoreError::new(context, e))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        if let Credential::Sas(token) = &self.account.credential {
            let joined = match url.query() {
                Some(q) if !q.is_empty() => format!("{q}&{token}"),
                _ => token.clone(),
            };
            url.set_query(Some(&joined));
        }
        let date = httpdate::fmt_http_date(SystemTime::now());
        headers.insert("x-ms-date", header_value(&date, context)?);
        headers.insert("x-ms-version", HeaderValue::from_static(API_VERSION));
        let body = body.unwrap_or_default();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        if let Credential::SharedKey(key) = &self.account.credential {
            let text = string_to_sign(service, &self.account.name, &method, &url, &headers);
            let value = format!("SharedKey {}:{}", self.account.name, sign(key, &text));
            headers.insert(AUTHORIZATION, header_value(&value, context)?);
        }
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| StoreError::new(context, e))?;
        *request.headers_mut() = headers;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| StoreError::new(context, e))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| StoreError::new(context, e))?
                .to_bytes();
            Ok(StorageResponse {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|e| StoreError::new(context, e))
            .and_then(|answer| answer);
        // No answer, or Storage failing or busy (500, 503 ServerBusy): the other
        // statuses are Storage answering as designed, which the callers handle.
        if answer.as_ref().map_or(true, |r| {
            r.status.is_server_error() || r.status.as_u16() == 429
        }) {
            crate::telemetry::metric::backend_error(match service {
                Service::Table => "azure-table",
                Service::Queue => "azure-queue",
            });
        }
        answer
    }
}

fn header_value(text: &str, context: &'static str) -> Result<HeaderValue, StoreError> {
    HeaderValue::from_str(text).map_err(|e| StoreError::new(context, e))
}

/// Reads a failed answer's error code (`x-ms-error-code`, which both services set).
pub(crate) fn service_error(response: &StorageResponse) -> ServiceError {
    ServiceError {
        status: response.status,
        code: response
            .header("x-ms-error-code")
            .unwrap_or("unknown")
            .to_owned(),
    }
}

fn sign(key: &[u8], text: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(text.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The canonicalized resource: `/account/path`. Azurite's path-style URLs already
/// start with the account, so it appears twice there, as the service expects.
fn resource(account: &str, url: &Url) -> String {
    format!("/{account}{}", url.path())
}

fn string_to_sign(
    service: Service,
    account: &str,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
) -> String {
    let method = method.as_str();
    match service {
        Service::Table => {
            let mut resource = resource(account, url);
            if let Some((_, comp)) = url.query_pairs().find(|(k, _)| k == "comp") {
                resource.push_str(&format!("?comp={comp}"));
            }
            format!(
                "{method}\n{}\n{}\n{}\n{resource}",
                header(headers, "content-md5"),
                header(headers, "content-type"),
                header(headers, "x-ms-date"),
            )
        }
        Service::Queue => {
            let length = match header(headers, "content-length") {
                "0" => "",
                other => other,
            };
            let mut ms_headers: Vec<(String, &str)> = headers
                .iter()
                .filter(|(name, _)| name.as_str().starts_with("x-ms-"))
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("")))
                .collect();
            ms_headers.sort();
            let canonical: String = ms_headers
                .iter()
                .map(|(name, value)| format!("{name}:{}\n", value.trim()))
                .collect();
            let mut params: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
                .collect();
            params.sort();
            let mut resource = resource(account, url);
            for (name, value) in params {
                resource.push_str(&format!("\n{name}:{value}"));
            }
            format!(
                "{method}\n{}\n{}\n{length}\n{}\n{}\n\n{}\n{}\n{}\n{}\n{}\n{canonical}{resource}",
                header(headers, "content-encoding"),
                header(headers, "content-language"),
                header(headers, "content-md5"),
                header(headers, "content-type"),
                header(headers, "if-modified-since"),
                header(headers, "if-match"),
                header(headers, "if-none-match"),
                header(headers, "if-unmodified-since"),
                header(headers, "range"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_text(
        service: Service,
        account: &str,
        method: Method,
        url: &str,
        headers: &[(&'static str, &'static str)],
    ) -> String {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::header::HeaderName::from_static(k),
                HeaderValue::from_static(v),
            );
        }
        string_to_sign(service, account, &method, &Url::parse(url).unwrap(), &map)
    }

    #[test]
    fn table_requests_sign_verb_type_date_and_the_path_style_resource() {
        let text = sign_text(
            Service::Table,
            "devstoreaccount1",
            Method::GET,
            "http://127.0.0.1:10002/devstoreaccount1/skiff(PartitionKey='a',RowKey='b')?$top=1",
            &[("x-ms-date", "Sun, 22 Nov 2026 12:00:00 GMT")],
        );
        assert_eq!(
            text,
            "GET\n\n\nSun, 22 Nov 2026 12:00:00 GMT\n/devstoreaccount1/devstoreaccount1/skiff(PartitionKey='a',RowKey='b')"
        );
    }

    #[test]
    fn queue_requests_sign_ms_headers_and_sorted_query_parameters() {
        let text = sign_text(
            Service::Queue,
            "acme",
            Method::GET,
            "https://acme.queue.core.windows.net/jobs/messages?visibilitytimeout=30&numofmessages=10",
            &[
                ("x-ms-version", "2021-12-02"),
                ("x-ms-date", "D"),
                ("content-length", "0"),
            ],
        );
        assert_eq!(
            text,
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:D\nx-ms-version:2021-12-02\n/acme/jobs/messages\nnumofmessages:10\nvisibilitytimeout:30"
        );
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_decoded_key() {
        // RFC 4231 test case 2: key "Jefe".
        assert_eq!(
            sign(b"Jefe", "what do ya want for nothing?"),
            STANDARD.encode(hex_decode(
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ))
        );
    }

    fn hex_decode(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}
