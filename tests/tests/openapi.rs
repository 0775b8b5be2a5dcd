//! The OpenAPI document each host serves matches what it serves: every documented
//! operation is served, every other method of a documented path is 405, and
//! `POST /auth/federated` is documented exactly when it is served.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use skiff_contract_tests::TestHost;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// A concrete path for a template: `{job_id}` becomes a well-formed id.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "0192f0c1-6a1b-7c3d-8e4f-a1b2c3d4e5f6"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `host` serves `method path`. Without a token or a body every served
/// operation answers something else than 404 or 405 (401, 400, 415 or 200): a
/// protected route checks the token before it looks anything up.
async fn served(host: &TestHost, method: &Method, path: &str) -> bool {
    let response = host
        .request(method.clone(), &concrete(path))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    !matches!(
        response.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    )
}

async fn check(host: &TestHost) -> BTreeSet<String> {
    let response = host.get_json("/openapi.json").await;
    let document: &Value = &response;
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            let documented = item.get(method.as_str().to_lowercase()).is_some();
            let is_served = served(host, &method, path).await;
            if documented != is_served {
                problems.push(format!(
                    "{method} {path}: documented {documented}, served {is_served}"
                ));
            }
            if documented {
                operations.insert(format!("{method} {path}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    operations
}

/// `docs/openapi.json` is what `make openapi` writes from the code today.
#[test]
fn docs_openapi_json_is_the_contract_document() {
    let written =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
            .expect("docs/openapi.json (make openapi writes it)");
    let written: Value = serde_json::from_str(&written).expect("docs/openapi.json is JSON");
    assert_eq!(
        written,
        skiff::api::openapi::contract_document().unwrap(),
        "docs/openapi.json is stale: run make openapi"
    );
}

#[tokio::test]
async fn the_served_document_matches_the_served_routes() {
    let host = TestHost::start();
    let operations = check(&host).await;
    assert!(operations.contains("GET /openapi.json"));
    assert!(operations.contains("DELETE /account"));
    assert!(!operations.contains("POST /auth/federated"));
    assert_eq!(
        host.request(Method::POST, "/auth/federated")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let issuers = r#"[{"issuer":"https://issuer.example/pool","audiences":["client"]}]"#;
    let federated = TestHost::start_with(&[("SKIFF_FEDERATED_ISSUERS", issuers)]);
    let with_federation = check(&federated).await;
    assert_eq!(
        with_federation
            .difference(&operations)
            .cloned()
            .collect::<Vec<_>>(),
        ["POST /auth/federated"]
    );
}
