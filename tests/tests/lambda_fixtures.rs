//! Runs every API Gateway v2 fixture in `events/apigw/` through the Router of the
//! function it belongs to, built exactly as Lambda init builds it, against moto:
//! DynamoDB table, the signing key in Secrets Manager, the JWKS in the environment.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;

use skiff::auth::{KeyRing, generate_private_key_pem};
use skiff::config::{Env, auth_settings};
use skiff::hosts::lambda::{AwsEnv, Function, LambdaConfig, build_with};

#[derive(Deserialize)]
struct Manifest {
    events: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    file: String,
    function: String,
    status: u16,
    fresh_login: bool,
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/apigw")
}

/// moto's settings, given to the functions the way Lambda gives its own: through
/// the variables `AwsEnv` reads. `tests/run` names moto in `SKIFF_TEST_AWS_ENDPOINT`
/// and its admin credentials in the usual variables.
fn moto_sdk() -> aws_types::SdkConfig {
    let endpoint = std::env::var("SKIFF_TEST_AWS_ENDPOINT")
        .expect("SKIFF_TEST_AWS_ENDPOINT is unset: run the tests with `make test`");
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| "test".into());
    let settings = HashMap::from([
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", var("AWS_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", var("AWS_SECRET_ACCESS_KEY")),
        ("AWS_ENDPOINT_URL", endpoint),
    ]);
    AwsEnv::from(&Env::from_lookup(|name: &str| settings.get(name).cloned()))
        .expect("moto settings are complete")
        .sdk_config()
}

/// A table shaped as the template's (pk, sk), with a name of its own.
async fn create_table(sdk: &aws_types::SdkConfig) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let name = format!("skiff-fixtures-{}", uuid::Uuid::new_v4().simple());
    let key = |attribute: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let definition = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    aws_sdk_dynamodb::Client::new(sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(definition("pk"))
        .attribute_definitions(definition("sk"))
        .send()
        .await
        .unwrap();
    name
}

/// Creates the function's AWS resources in moto and returns its config.
async fn provision(sdk: &aws_types::SdkConfig) -> LambdaConfig {
    let table = create_table(sdk).await;
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let pem = generate_private_key_pem().unwrap();
    let secret = format!("skiff-test/{unique}/signing-keys");
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(&secret)
        .secret_string(&pem)
        .send()
        .await
        .unwrap();
    let jwks = serde_json::to_string(
        &KeyRing::from_private_pems(&[pem])
            .unwrap()
            .public_keys()
            .jwks(),
    )
    .unwrap();
    let queue_url = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(format!("skiff-test-jobs-{unique}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // A state machine that only has to accept executions: the real workflow runs in
    // the emulated-AWS contract tests.
    let state_machine = aws_sdk_sfn::Client::new(sdk)
        .create_state_machine()
        .name(format!("skiff-test-deletion-{unique}"))
        .role_arn("arn:aws:iam::123456789012:role/skiff-test")
        .definition(r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Pass","End":true}}}"#)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let topic = aws_sdk_sns::Client::new(sdk)
        .create_topic()
        .name(format!("skiff-test-events-{unique}"))
        .send()
        .await
        .unwrap()
        .topic_arn;
    LambdaConfig {
        table,
        auth: auth_settings(
            &Env::from_lookup(|_| None),
            "https://abc123.execute-api.us-east-1.amazonaws.com",
        )
        .unwrap(),
        http: skiff::api::HttpSettings {
            max_body_bytes: LambdaConfig::DEFAULT_MAX_BODY_BYTES,
            cors_origins: skiff::api::CorsOrigins::default(),
        },
        signing_keys_secret: Some(secret),
        jwks: Some(jwks),
        warm_up: true,
        jobs_queue_url: Some(queue_url),
        events_topic_arn: topic,
        deletion_state_machine_arn: Some(state_machine),
        work: skiff::config::work_settings(&Env::from_lookup(|_| None)).unwrap(),
        session_store: skiff::config::SessionStoreSetting::Main,
        session_store_auth_secret: None,
        metrics: skiff::telemetry::MetricsSettings::from(&Env::from_lookup(|_| None)).unwrap(),
        function_name: "fixtures".into(),
    }
}

/// Fills the `{{access_token}}` and `{{refresh_token}}` placeholders from a login body.
fn remember_tokens(vars: &mut HashMap<&str, String>, login: &Value) {
    for name in ["access_token", "refresh_token"] {
        let token = login[name]
            .as_str()
            .unwrap_or_else(|| panic!("login gave no {name}"));
        vars.insert(name, token.to_owned());
    }
}

async fn invoke(router: &Router, file: &str, vars: &HashMap<&str, String>) -> (u16, Value) {
    let mut text = std::fs::read_to_string(events_dir().join(file)).unwrap();
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is no API Gateway event: {e}"));
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_fixture_gets_its_expected_status_from_its_function() {
    let sdk = moto_sdk();
    let config = provision(&sdk).await;
    let mut routers = HashMap::new();
    for function in Function::ALL.into_iter().filter(|f| !f.paths().is_empty()) {
        routers.insert(
            function.name(),
            build_with(function, &config, &sdk).await.unwrap(),
        );
    }

    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("manifest.json")).unwrap())
            .unwrap();
    let mut vars = HashMap::from([(
        "email",
        format!("fixture-{}@example.com", uuid::Uuid::new_v4().simple()),
    )]);
    let mut failures = Vec::new();
    for fixture in &manifest.events {
        if fixture.fresh_login {
            let (status, tokens) = invoke(&routers["login"], "login/login.json", &vars).await;
            assert_eq!(status, 200, "fresh login before {}", fixture.file);
            remember_tokens(&mut vars, &tokens);
        }
        let router = routers
            .get(fixture.function.as_str())
            .unwrap_or_else(|| panic!("{}: unknown function {}", fixture.file, fixture.function));
        let (status, body) = invoke(router, &fixture.file, &vars).await;
        if status != fixture.status {
            failures.push(format!(
                "{}: expected {}, got {status} {body}",
                fixture.file, fixture.status
            ));
        }
        if fixture.file == "login/login.json" && status == 200 {
            remember_tokens(&mut vars, &body);
        }
    }
    assert!(
        failures.is_empty(),
        "fixtures with the wrong status:\n{}",
        failures.join("\n")
    );
}

/// Every event file is in the manifest, every event's path is served by the function
/// it names, and every path of every function has at least one event.
#[test]
fn fixtures_cover_every_route_and_belong_to_their_function() {
    let manifest: Manifest =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join("manifest.json")).unwrap())
            .unwrap();
    let listed: BTreeSet<String> = manifest.events.iter().map(|f| f.file.clone()).collect();
    let mut on_disk = BTreeSet::new();
    for function in Function::ALL.into_iter().filter(|f| !f.paths().is_empty()) {
        for entry in std::fs::read_dir(events_dir().join(function.name())).unwrap() {
            on_disk.insert(format!(
                "{}/{}",
                function.name(),
                entry.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    assert_eq!(
        listed, on_disk,
        "manifest.json and the event files disagree"
    );

    let mut covered = BTreeSet::new();
    for fixture in &manifest.events {
        let event: Value = serde_json::from_str(
            &std::fs::read_to_string(events_dir().join(&fixture.file)).unwrap(),
        )
        .unwrap();
        let path = event["rawPath"].as_str().unwrap().to_owned();
        let function = Function::ALL
            .into_iter()
            .find(|f| f.name() == fixture.function)
            .unwrap();
        let pattern = function
            .paths()
            .into_iter()
            .find(|pattern| path_matches(pattern, &path));
        if fixture.status != 404 {
            assert!(
                pattern.is_some(),
                "{}: {path} is not served by {}",
                fixture.file,
                fixture.function
            );
        }
        covered.insert(pattern.map_or(path, str::to_owned));
    }
    for function in Function::ALL {
        for path in function.paths() {
            assert!(
                covered.contains(path),
                "no event exercises {path} ({})",
                function.name()
            );
        }
    }
}

/// `/jobs/{job_id}` matches `/jobs/abc`: a `{name}` segment matches any one segment.
fn path_matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty()))
}
