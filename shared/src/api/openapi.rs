//! The contract as an OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! Written once, beside this file (`openapi.json`), rather than derived from the
//! handlers: the contract came first and the document states it in full (every
//! problem type, header and link), which annotations on ~20 handlers would spread
//! over as many files. It is kept honest by tests instead: its paths are exactly
//! [`super::paths`] (a unit test), every documented operation is served and every
//! other method of a documented path answers 405 on every host, and Schemathesis
//! checks every answer against it.

use std::sync::{Arc, OnceLock};

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

/// What one host serves: written at the first `GET /openapi.json` and then shared
/// by every response without a copy. Not at init: parsing and re-serialising the
/// contract's document is about 2.8 M instructions (counted with callgrind), more
/// than the rest of the session function's init, for a route few requests take.
pub struct OpenApi {
    server_url: String,
    federated: bool,
    app_paths: Option<Map<String, Value>>,
    body: OnceLock<Result<Bytes, String>>,
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
    /// The document for a host with `options`. An app that documents one of
    /// Skiff's own paths is refused here, at init (the document's paths are
    /// exactly [`super::paths`], a unit test checks).
    pub fn new(options: &OpenApiOptions<'_>) -> Result<Self, Error> {
        let clash = options
            .app_paths
            .and_then(|app_paths| app_paths.keys().find(|path| is_skiffs(path)));
        if let Some(path) = clash {
            return Err(Error::Internal(format!(
                "the app documents {path}, which Skiff serves"
            )));
        }
        Ok(Self {
            server_url: options.server_url.to_owned(),
            federated: options.federated,
            app_paths: options.app_paths.cloned(),
            body: OnceLock::new(),
        })
    }

    /// The serialised document, written at the first call.
    pub fn body(&self) -> Result<Bytes, Error> {
        self.body
            .get_or_init(|| self.write().map_err(|e| e.to_string()))
            .clone()
            .map_err(Error::Internal)
    }

    fn write(&self) -> Result<Bytes, Error> {
        let mut document = contract_document()?;
        document["servers"] = json!([{ "url": self.server_url }]);
        let paths = document["paths"]
            .as_object_mut()
            .ok_or_else(|| Error::Internal("the OpenAPI document has no paths".into()))?;
        if !self.federated {
            paths.remove("/auth/federated");
        }
        if let Some(app_paths) = &self.app_paths {
            paths.extend(
                app_paths
                    .iter()
                    .map(|(path, item)| (path.clone(), item.clone())),
            );
        }
        let body = serde_json::to_vec(&document)
            .map_err(|e| Error::Internal(format!("serialise the OpenAPI document: {e}")))?;
        Ok(body.into())
    }
}

fn is_skiffs(path: &str) -> bool {
    super::paths::ALL.iter().any(|group| group.contains(&path))
}

pub(super) async fn openapi(State(document): State<Arc<OpenApi>>) -> Result<Response, Error> {
    let mut response = document.body()?.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
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
        let contract: BTreeSet<String> = paths::ALL
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
        assert!(without.body.get().is_none(), "written at init");
        let served: Value = serde_json::from_slice(&without.body().unwrap()).unwrap();
        assert!(without.body.get().is_some(), "written once, then shared");
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
        let served: Value = serde_json::from_slice(&with.body().unwrap()).unwrap();
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
