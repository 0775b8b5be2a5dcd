//! The contract as an OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Written once, beside this file (`openapi.json`), rather than derived from the
//! handlers: the contract came first and the document states it in full (every
//! problem type, header and link), which annotations on ~20 handlers would spread
//! over as many files. It is kept honest by tests instead: its paths are exactly
//! [`super::paths`] (a unit test), every documented operation is served and every
//! other method of a documented path answers 405 on every host, and Schemathesis
//! checks every answer against it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::error::Error;

/// The document as written: the whole contract, federated login included.
const CONTRACT: &str = include_str!("openapi.json");

/// The whole contract's document, as `docs/openapi.json` holds it.
pub fn contract_document() -> Result<Value, Error> {
    serde_json::from_str(CONTRACT)
        .map_err(|e| Error::Internal(format!("the embedded OpenAPI document: {e}")))
}

/// What one host serves, ready to send: built once per process, and shared by
/// every response without a copy.
pub struct OpenApi {
    body: Bytes,
}

/// What decides which operations a host documents.
pub struct OpenApiOptions<'a> {
    /// The base URL clients use (the issuer): the document's server.
    pub server_url: &'a str,
    /// Whether `POST /auth/federated` is served (issuers are trusted).
    pub federated: bool,
    /// Paths an app documents for its own routes (`App::openapi_paths`), as an
    /// OpenAPI `paths` object; they may name the document's components.
    pub app_paths: Option<&'a Map<String, Value>>,
}

impl OpenApi {
    /// The document for a host with `options`.
    pub fn new(options: &OpenApiOptions<'_>) -> Result<Self, Error> {
        let mut document = contract_document()?;
        document["servers"] = json!([{ "url": options.server_url }]);
        let paths = document["paths"]
            .as_object_mut()
            .ok_or_else(|| Error::Internal("the OpenAPI document has no paths".into()))?;
        if !options.federated {
            paths.remove("/auth/federated");
        }
        if let Some(app_paths) = options.app_paths {
            for (path, item) in app_paths {
                if paths.contains_key(path) {
                    return Err(Error::Internal(format!(
                        "the app documents {path}, which Skiff serves"
                    )));
                }
                paths.insert(path.clone(), item.clone());
            }
        }
        let body = serde_json::to_vec(&document)
            .map_err(|e| Error::Internal(format!("serialise the OpenAPI document: {e}")))?;
        Ok(Self { body: body.into() })
    }
}

pub(super) async fn openapi(State(document): State<Arc<OpenApi>>) -> Response {
    let mut response = document.body.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::paths;

    fn documented_paths(document: &Value) -> BTreeSet<String> {
        document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// The document names exactly the contract's paths, and each operation
    /// documents its errors as problem details.
    #[test]
    fn the_document_has_every_path_of_the_contract_and_no_other() {
        let document = contract_document().unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let contract: BTreeSet<String> = [
            paths::HEALTH,
            paths::OPENAPI,
            paths::DISCOVERY,
            paths::AUTH,
            paths::SESSIONS,
            paths::JOBS,
            paths::ACCOUNT,
        ]
        .iter()
        .flat_map(|group| group.iter().map(|p| (*p).to_owned()))
        .collect();
        assert_eq!(documented_paths(&document), contract);
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let secured = operation.get("security").is_some();
                let responses = operation["responses"].as_object().unwrap();
                assert!(
                    !secured || responses.contains_key("401"),
                    "{method} {path}: an authenticated operation documents 401"
                );
                assert!(
                    responses.keys().any(|status| status.starts_with('2')),
                    "{method} {path}: no success documented"
                );
            }
        }
    }

    #[test]
    fn a_host_documents_what_it_serves() {
        let without = OpenApi::new(&OpenApiOptions {
            server_url: "https://api.example",
            federated: false,
            app_paths: None,
        })
        .unwrap();
        let served: Value = serde_json::from_slice(&without.body).unwrap();
        assert!(served["paths"].get("/auth/federated").is_none());
        assert_eq!(served["servers"][0]["url"], "https://api.example");

        let app: Map<String, Value> = serde_json::from_value(
            json!({"/cart": {"get": {"responses": {"200": {"description": "the cart"}}}}}),
        )
        .unwrap();
        let with = OpenApi::new(&OpenApiOptions {
            server_url: "https://api.example",
            federated: true,
            app_paths: Some(&app),
        })
        .unwrap();
        let served: Value = serde_json::from_slice(&with.body).unwrap();
        assert!(served["paths"].get("/auth/federated").is_some());
        assert!(served["paths"].get("/cart").is_some());

        let clash: Map<String, Value> = serde_json::from_value(json!({"/session": {}})).unwrap();
        assert!(
            OpenApi::new(&OpenApiOptions {
                server_url: "https://api.example",
                federated: false,
                app_paths: Some(&clash),
            })
            .is_err()
        );
    }
}
