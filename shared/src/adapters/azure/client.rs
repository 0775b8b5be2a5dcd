//! The HTTP side of Azure Storage: one reqwest client per process, every request
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
use hmac::{Hmac, Mac};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, Request, Response, StatusCode};
use sha2::Sha256;

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

/// Cheap to clone; build once per process.
#[derive(Clone)]
pub struct StorageClient {
    http: reqwest::Client,
    account: std::sync::Arc<StorageAccount>,
}

/// A storage error answer: its status and the service's error code.
#[derive(Debug, thiserror::Error)]
#[error("azure storage answered {status}: {code}")]
pub struct ServiceError {
    pub status: StatusCode,
    pub code: String,
}

impl StorageClient {
    /// Builds the HTTP client. TLS (for real endpoints) uses rustls on ring with
    /// the platform's roots; the ring provider is installed as the process default
    /// here, once.
    pub fn new(account: StorageAccount) -> Result<Self, StoreError> {
        // Err only means a provider was installed already, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| StoreError::new("build the azure storage http client", e))?;
        Ok(Self {
            http,
            account: std::sync::Arc::new(account),
        })
    }

    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    pub(crate) fn endpoint(&self, service: Service) -> &str {
        match service {
            Service::Table => &self.account.table_endpoint,
            Service::Queue => &self.account.queue_endpoint,
        }
    }

    /// Sends a request to `path` (already percent-encoded, starting with `/`) with
    /// `query` pairs (unencoded).
    pub(crate) async fn send(
        &self,
        service: Service,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        context: &'static str,
    ) -> Result<Response, StoreError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.endpoint(service)))
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
        let mut builder = self
            .http
            .request(method, url)
            .headers(headers)
            .header("x-ms-date", httpdate::fmt_http_date(SystemTime::now()))
            .header("x-ms-version", API_VERSION);
        if let Some(body) = body {
            builder = builder
                .header(reqwest::header::CONTENT_LENGTH, body.len())
                .body(body);
        }
        let mut request = builder.build().map_err(|e| StoreError::new(context, e))?;
        if let Credential::SharedKey(key) = &self.account.credential {
            let signature = sign(key, &string_to_sign(service, &self.account.name, &request));
            let value =
                HeaderValue::from_str(&format!("SharedKey {}:{signature}", self.account.name))
                    .map_err(|e| StoreError::new(context, e))?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.http
            .execute(request)
            .await
            .map_err(|e| StoreError::new(context, e))
    }
}

/// Reads a failed answer's error code (`x-ms-error-code`, which both services set).
pub(crate) fn service_error(response: &Response) -> ServiceError {
    ServiceError {
        status: response.status(),
        code: response
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
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

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The canonicalized resource: `/account/path`. Azurite's path-style URLs already
/// start with the account, so it appears twice there, as the service expects.
fn resource(account: &str, request: &Request) -> String {
    format!("/{account}{}", request.url().path())
}

fn string_to_sign(service: Service, account: &str, request: &Request) -> String {
    let method = request.method().as_str();
    match service {
        Service::Table => {
            let mut resource = resource(account, request);
            if let Some((_, comp)) = request.url().query_pairs().find(|(k, _)| k == "comp") {
                resource.push_str(&format!("?comp={comp}"));
            }
            format!(
                "{method}\n{}\n{}\n{}\n{resource}",
                header(request, "content-md5"),
                header(request, "content-type"),
                header(request, "x-ms-date"),
            )
        }
        Service::Queue => {
            let length = match header(request, "content-length") {
                "0" => "",
                other => other,
            };
            let mut ms_headers: Vec<(String, &str)> = request
                .headers()
                .iter()
                .filter(|(name, _)| name.as_str().starts_with("x-ms-"))
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("")))
                .collect();
            ms_headers.sort();
            let headers: String = ms_headers
                .iter()
                .map(|(name, value)| format!("{name}:{}\n", value.trim()))
                .collect();
            let mut params: Vec<(String, String)> = request
                .url()
                .query_pairs()
                .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
                .collect();
            params.sort();
            let mut resource = resource(account, request);
            for (name, value) in params {
                resource.push_str(&format!("\n{name}:{value}"));
            }
            format!(
                "{method}\n{}\n{}\n{length}\n{}\n{}\n\n{}\n{}\n{}\n{}\n{}\n{headers}{resource}",
                header(request, "content-encoding"),
                header(request, "content-language"),
                header(request, "content-md5"),
                header(request, "content-type"),
                header(request, "if-modified-since"),
                header(request, "if-match"),
                header(request, "if-none-match"),
                header(request, "if-unmodified-since"),
                header(request, "range"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, url: &str, headers: &[(&str, &str)]) -> Request {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::new().request(method, url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.build().unwrap()
    }

    #[test]
    fn table_requests_sign_verb_type_date_and_the_path_style_resource() {
        let r = request(
            Method::GET,
            "http://127.0.0.1:10002/devstoreaccount1/skiff(PartitionKey='a',RowKey='b')?$top=1",
            &[("x-ms-date", "Sun, 22 Nov 2026 12:00:00 GMT")],
        );
        assert_eq!(
            string_to_sign(Service::Table, "devstoreaccount1", &r),
            "GET\n\n\nSun, 22 Nov 2026 12:00:00 GMT\n/devstoreaccount1/devstoreaccount1/skiff(PartitionKey='a',RowKey='b')"
        );
    }

    #[test]
    fn queue_requests_sign_ms_headers_and_sorted_query_parameters() {
        let r = request(
            Method::GET,
            "https://acme.queue.core.windows.net/jobs/messages?visibilitytimeout=30&numofmessages=10",
            &[("x-ms-version", "2021-12-02"), ("x-ms-date", "D")],
        );
        assert_eq!(
            string_to_sign(Service::Queue, "acme", &r),
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
