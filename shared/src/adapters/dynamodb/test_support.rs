//! Adapter tests run against a real DynamoDB wire peer: the moto server that
//! `tests/run` starts on a free loopback port and names in `SKIFF_TEST_AWS_ENDPOINT`.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use super::{DynamoStore, PARTITION_KEY, SORT_KEY};

fn table_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("skiff-test-{}", uuid::Uuid::new_v4().simple()))
}

/// A store on this test process's table, created on first use. Each test gets its
/// own client because each `#[tokio::test]` has its own runtime.
pub(crate) async fn store() -> DynamoStore {
    let endpoint = std::env::var("SKIFF_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "SKIFF_TEST_AWS_ENDPOINT is unset: run the tests with `make test`, which starts moto"
        )
    });
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .http_client(crate::adapters::aws_http::https_client(
            crate::adapters::aws_http::TlsRoots::Amazon,
        ))
        .region(Region::new("us-east-1"))
        .credentials_provider({
            let (id, secret) = moto_credentials();
            Credentials::new(id, secret, None, None, "skiff-tests")
        })
        .build();
    let client = Client::from_conf(config);
    let created = client
        .create_table()
        .table_name(table_name())
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PARTITION_KEY, KeyType::Hash))
        .key_schema(key(SORT_KEY, KeyType::Range))
        .attribute_definitions(attribute(PARTITION_KEY))
        .attribute_definitions(attribute(SORT_KEY))
        .send()
        .await;
    if let Err(e) = created {
        // Another test of this process created it first.
        assert!(
            e.as_service_error()
                .is_some_and(|se| se.is_resource_in_use_exception()),
            "create table: {e:?}"
        );
    }
    DynamoStore::new(client, table_name(), Duration::from_secs(30 * 86_400))
}

/// The moto server `tests/run` started.
pub(crate) fn moto_endpoint() -> String {
    std::env::var("SKIFF_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "SKIFF_TEST_AWS_ENDPOINT is unset: run the tests with `make test`, which starts moto"
        )
    })
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

/// The key the tests use with moto: the emulation's administrator when moto
/// enforces IAM (the runner exports it), else moto's anything-goes `test`.
pub(crate) fn moto_credentials() -> (String, String) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| "test".into());
    (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
}
