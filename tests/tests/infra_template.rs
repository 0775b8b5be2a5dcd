//! What cfn-lint and `sam validate` miss: references inside function properties that
//! point nowhere, variables the code does not read, and routes that reach the wrong
//! function. `tests/run` decodes `infra/template.yaml` (with cfn-lint's own decoder,
//! so `!Ref` and friends become `{"Ref": …}`) into `SKIFF_TEST_TEMPLATE_JSON`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::Value;

use skiff::config::Env;
use skiff::hosts::lambda::{Function, LambdaConfig};

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

fn template() -> Value {
    let path = std::env::var("SKIFF_TEST_TEMPLATE_JSON").unwrap_or_else(|_| {
        panic!("SKIFF_TEST_TEMPLATE_JSON is unset: run the tests with `make test`")
    });
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The names `${Name}` / `${Name.Attr}` in an `Fn::Sub` string refers to.
fn sub_names(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(inner, _)| inner.split('.').next().unwrap_or(inner).to_owned())
        .filter(|name| !name.starts_with('!'))
        .collect()
}

/// Every logical name referenced anywhere below `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("Ref", Value::String(name)) => found.push(name.clone()),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        found.extend(parts.first().and_then(Value::as_str).map(String::from));
                    }
                    ("Fn::Sub", Value::String(text)) => found.extend(sub_names(text)),
                    ("Fn::Sub", Value::Array(parts)) => {
                        let locals: BTreeSet<String> = parts
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        let text = parts.first().and_then(Value::as_str).unwrap_or_default();
                        found.extend(sub_names(text).into_iter().filter(|n| !locals.contains(n)));
                        references(&Value::Array(parts[1..].to_vec()), found);
                    }
                    _ => references(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// The variable names the Lambda config parser reads, recorded rather than listed.
fn variables_the_code_reads() -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    let env = Env::from_lookup(|name: &str| {
        seen.lock().unwrap().insert(name.to_owned());
        match name {
            "SKIFF_ISSUER" => Some("https://api.example.com".to_owned()),
            "SKIFF_TABLE" => Some("table".to_owned()),
            _ => None,
        }
    });
    LambdaConfig::from(&env).unwrap();
    let mut names = seen.into_inner().unwrap();
    // Read by `telemetry::init` straight from the process environment.
    names.insert("SKIFF_LOG".to_owned());
    names
}

fn function_of(resource: &Value) -> Option<Function> {
    let binary = resource
        .pointer("/Metadata/BuildProperties/Binary")?
        .as_str()?;
    Function::ALL.into_iter().find(|f| f.name() == binary)
}

/// The function an integration invokes: its ARN, or the alias AutoPublishAlias
/// makes (`{"Ref": "LoginFunction.Alias"}`).
fn integration_function(integration: &Value) -> Option<&str> {
    let uri = integration.pointer("/Properties/IntegrationUri")?;
    match uri.pointer("/Fn::GetAtt/0") {
        Some(name) => name.as_str(),
        None => uri["Ref"].as_str()?.strip_suffix(".Alias"),
    }
}

/// The path → function routes API Gateway gets from the template.
fn template_routes(template: &Value) -> BTreeMap<String, String> {
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
        .filter_map(|route| {
            let key = route.pointer("/Properties/RouteKey")?.as_str()?;
            let target = route.pointer("/Properties/Target/Fn::Sub")?.as_str()?;
            let integration = sub_names(target).into_iter().next()?;
            let function = integration_function(resources.get(&integration)?)?;
            let binary = function_of(resources.get(function)?)?;
            let path = key.split_once(' ').map_or(key, |(_, path)| path);
            Some((path.to_owned(), binary.name().to_owned()))
        })
        .collect()
}

/// Everything wrong with the template, one line per problem.
fn problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let parameters = template["Parameters"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let known = |name: &str| {
        // `Function.Alias`: the alias SAM makes for a function with AutoPublishAlias.
        let name = name.strip_suffix(".Alias").unwrap_or(name);
        resources.contains_key(name)
            || parameters.contains_key(name)
            || PSEUDO_PARAMETERS.contains(&name)
    };

    let globals = template
        .pointer("/Globals/Function")
        .cloned()
        .unwrap_or_default();
    let mut found = Vec::new();
    references(&globals, &mut found);
    for name in found.iter().filter(|n| !known(n)) {
        problems.push(format!(
            "Globals reference {name}, which is neither a resource nor a parameter"
        ));
    }
    // SAM merges the global variables into every function's.
    let global_variables = globals
        .pointer("/Environment/Variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let readable = variables_the_code_reads();
    let mut functions = BTreeMap::new();
    for (logical, resource) in &resources {
        let mut found = Vec::new();
        references(resource, &mut found);
        for name in found.iter().filter(|n| !known(n)) {
            problems.push(format!(
                "{logical} references {name}, which is neither a resource nor a parameter"
            ));
        }
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(function) = function_of(resource) else {
            problems.push(format!("{logical} builds no Skiff function binary"));
            continue;
        };
        functions.insert(logical.clone(), function);
        let mut variables = global_variables.clone();
        variables.extend(
            resource
                .pointer("/Properties/Environment/Variables")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        );
        for name in variables.keys().filter(|n| !readable.contains(*n)) {
            problems.push(format!(
                "{logical} sets {name}, which the function never reads"
            ));
        }
        for name in function.required_variables().iter().copied() {
            if !variables.contains_key(name) {
                problems.push(format!(
                    "{logical} does not set {name}, which {} requires",
                    function.name()
                ));
            }
        }
    }

    // Route → integration → function, compared with what each function serves.
    let mut routed: BTreeMap<String, Function> = BTreeMap::new();
    for (logical, resource) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
    {
        let key = resource
            .pointer("/Properties/RouteKey")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let target = resource
            .pointer("/Properties/Target/Fn::Sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let integration = sub_names(target).into_iter().next().unwrap_or_default();
        let function = resources
            .get(&integration)
            .and_then(integration_function)
            .and_then(|f| functions.get(f).copied());
        let Some(function) = function else {
            problems.push(format!("{logical} ({key}) does not reach a Skiff function"));
            continue;
        };
        let path = key.split_once(' ').map_or(key, |(_, path)| path);
        if path != "$default" && !function.paths().contains(&path) {
            problems.push(format!(
                "{logical} sends {path} to {}, which does not serve it",
                function.name()
            ));
        }
        routed.insert(path.to_owned(), function);
    }
    for function in Function::ALL {
        for path in function.paths() {
            if routed.get(path) != Some(&function) {
                problems.push(format!(
                    "{path} is served by {} but not routed to it",
                    function.name()
                ));
            }
        }
    }
    problems
}

#[test]
fn the_template_is_consistent_with_the_functions() {
    let problems = problems(&template());
    assert!(
        problems.is_empty(),
        "infra/template.yaml:\n{}",
        problems.join("\n")
    );
}

/// The check catches what the linters let through.
#[test]
fn broken_references_variables_and_routes_are_caught() {
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut t = template();
        edit(&mut t);
        problems(&t)
    };
    let p = broken(&|t| {
        t["Resources"]["LoginFunction"]["Properties"]["Environment"]["Variables"]["SKIFF_TABLE"] =
            serde_json::json!({"Ref": "Tabel"});
    });
    assert!(p.iter().any(|p| p.contains("references Tabel")), "{p:?}");

    let p = broken(&|t| {
        t["Resources"]["SessionFunction"]["Properties"]["Policies"][1]["Statement"][0]["Resource"] =
            serde_json::json!({"Fn::GetAtt": ["Tabel", "Arn"]});
    });
    assert!(p.iter().any(|p| p.contains("references Tabel")), "{p:?}");

    let p = broken(&|t| {
        t["Resources"]["LoginFunction"]["Properties"]["Environment"]["Variables"]["SKIFF_ISSUER"] =
            serde_json::json!({"Fn::Sub": "https://${HtpApi}.example.com"});
    });
    assert!(p.iter().any(|p| p.contains("references HtpApi")), "{p:?}");

    let p = broken(&|t| {
        let vars = t["Resources"]["SessionFunction"]["Properties"]["Environment"]["Variables"]
            .as_object_mut()
            .unwrap();
        vars.remove("SKIFF_JWKS");
        vars.insert("SKIFF_JWKS_JSON".into(), serde_json::json!("x"));
    });
    assert!(
        p.iter()
            .any(|p| p.contains("SKIFF_JWKS_JSON, which the function never reads")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|p| p.contains("does not set SKIFF_JWKS")),
        "{p:?}"
    );

    let p = broken(&|t| {
        t["Resources"]["RouteSessionData"]["Properties"]["Target"] =
            serde_json::json!({"Fn::Sub": "integrations/${LoginIntegration}"});
    });
    assert!(
        p.iter().any(|p| p.contains("sends /session/data to login")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.contains("/session/data is served by session but not routed")),
        "{p:?}"
    );
}

/// `cargo lambda watch` (emulated-AWS mode) must route exactly as API Gateway does:
/// the workspace router in Cargo.toml equals the template's routes, with the
/// catch-all `/{*path}` standing for API Gateway's `$default`.
#[test]
fn the_watch_router_mirrors_the_template() {
    let manifest: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let router: BTreeMap<String, String> =
        manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
            .as_table()
            .expect("[workspace.metadata.lambda.watch.router]")
            .iter()
            .map(|(path, function)| {
                let path = if path == "/{*path}" {
                    "$default"
                } else {
                    path.as_str()
                };
                (
                    path.to_owned(),
                    function.as_str().expect("one function per path").to_owned(),
                )
            })
            .collect();
    assert_eq!(router, template_routes(&template()));
}

/// What every SQS event source needs on AWS: a DLQ by redrive policy, and a
/// visibility timeout of at least six times the consumer's timeout, so a batch that
/// is still running is never handed to a second consumer.
fn queue_problems(template: &Value) -> Vec<String> {
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let default_timeout = template
        .pointer("/Globals/Function/Timeout")
        .and_then(Value::as_u64)
        .unwrap_or(3);
    let mut problems = Vec::new();
    let mut consumers = 0;
    for (logical, function) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
    {
        let timeout = function
            .pointer("/Properties/Timeout")
            .and_then(Value::as_u64)
            .unwrap_or(default_timeout);
        let events = function
            .pointer("/Properties/Events")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for event in events.values().filter(|e| e["Type"] == "SQS") {
            consumers += 1;
            let queue_name = event
                .pointer("/Properties/Queue/Fn::GetAtt/0")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(queue) = resources.get(queue_name) else {
                problems.push(format!(
                    "{logical} consumes {queue_name:?}, which is no resource"
                ));
                continue;
            };
            let visibility = queue
                .pointer("/Properties/VisibilityTimeout")
                .and_then(Value::as_u64)
                .unwrap_or(30);
            if visibility < 6 * timeout {
                problems.push(format!(
                    "{queue_name}: visibility {visibility} s is under 6 × {logical}'s {timeout} s"
                ));
            }
            if queue
                .pointer("/Properties/RedrivePolicy/deadLetterTargetArn")
                .is_none()
            {
                problems.push(format!("{queue_name} has no dead-letter queue"));
            }
            let reports = event
                .pointer("/Properties/FunctionResponseTypes")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures"));
            if !reports {
                problems.push(format!("{logical} does not report partial batch failures"));
            }
        }
    }
    if consumers == 0 {
        problems.push("no function consumes a queue".into());
    }
    problems
}

#[test]
fn every_consumed_queue_has_a_dlq_and_a_long_enough_visibility_timeout() {
    let problems = queue_problems(&template());
    assert!(
        problems.is_empty(),
        "infra/template.yaml:\n{}",
        problems.join("\n")
    );

    let mut short = template();
    short["Resources"]["JobsQueue"]["Properties"]["VisibilityTimeout"] = serde_json::json!(30);
    short["Resources"]["StepsQueue"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("RedrivePolicy");
    let found = queue_problems(&short);
    assert!(
        found
            .iter()
            .any(|p| p.contains("JobsQueue: visibility 30 s")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("StepsQueue has no dead-letter queue")),
        "{found:?}"
    );
}

/// The template as CloudFormation sees it with `SessionStore` = `setting`:
/// resources of false conditions dropped, `Fn::If` resolved, `AWS::NoValue`
/// removed. Only the one condition this template has is evaluated.
/// The template as CloudFormation would deploy it with `parameters` (the rest at
/// their defaults): its conditions evaluated, `Fn::If` resolved, `AWS::NoValue`
/// and resources whose condition is false removed.
fn deployed_with(template: &Value, parameters: &[(&str, &str)]) -> Value {
    fn parameter(template: &Value, parameters: &[(&str, &str)], name: &str) -> Value {
        parameters
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| Value::from(*v))
            .unwrap_or_else(|| template["Parameters"][name]["Default"].clone())
    }
    fn condition(template: &Value, parameters: &[(&str, &str)], expression: &Value) -> bool {
        let (kind, arg) = expression.as_object().unwrap().iter().next().unwrap();
        let each = || {
            arg.as_array()
                .unwrap()
                .iter()
                .map(|e| condition(template, parameters, e))
                .collect::<Vec<_>>()
        };
        match kind.as_str() {
            "Fn::Equals" => {
                let side = |v: &Value| match v.get("Ref") {
                    Some(name) => parameter(template, parameters, name.as_str().unwrap()),
                    None => v.clone(),
                };
                side(&arg[0]) == side(&arg[1])
            }
            "Fn::Or" => each().into_iter().any(|b| b),
            "Fn::And" => each().into_iter().all(|b| b),
            "Fn::Not" => !each()[0],
            "Condition" => condition(
                template,
                parameters,
                &template["Conditions"][arg.as_str().unwrap()],
            ),
            other => panic!("an unknown condition function {other}"),
        }
    }
    fn resolve(value: &Value, conditions: &BTreeMap<String, bool>) -> Option<Value> {
        match value {
            Value::Object(map) if map.get("Ref") == Some(&Value::from("AWS::NoValue")) => None,
            Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
                let branches = map["Fn::If"].as_array().unwrap();
                let on = conditions[branches[0].as_str().unwrap()];
                resolve(&branches[if on { 1 } else { 2 }], conditions)
            }
            Value::Object(map) => Some(Value::Object(
                map.iter()
                    .filter_map(|(k, v)| resolve(v, conditions).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .filter_map(|v| resolve(v, conditions))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }
    let mut conditions = BTreeMap::new();
    for (name, expression) in template["Conditions"].as_object().unwrap() {
        let value = condition(template, parameters, expression);
        conditions.insert(name.clone(), value);
    }
    let mut resolved = resolve(template, &conditions).unwrap();
    let resources = resolved["Resources"].as_object_mut().unwrap();
    resources.retain(|_, resource| match resource.get("Condition") {
        Some(condition) => conditions[condition.as_str().unwrap()],
        None => true,
    });
    resolved
}

fn with_session_store(template: &Value, setting: &str) -> Value {
    deployed_with(template, &[("SessionStore", setting)])
}

fn functions(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `SessionStore` is all or nothing. Off (the default): no VPC, no cache, no
/// session-store variable, the functions as before. On: every function is in the
/// VPC's private subnets, points at the cache over TLS in cluster mode, reads the
/// cache password's secret, and the VPC has an endpoint for every AWS service the
/// functions call; the cache admits the functions' security group only.
#[test]
fn the_session_cache_is_all_or_nothing() {
    let template = template();
    assert_eq!(
        template["Parameters"]["SessionStore"]["Default"],
        "dynamodb"
    );

    let off = with_session_store(&template, "dynamodb");
    let resources = off["Resources"].as_object().unwrap();
    for kind in [
        "AWS::EC2::VPC",
        "AWS::ElastiCache::ServerlessCache",
        "AWS::EC2::VPCEndpoint",
    ] {
        assert!(
            resources.values().all(|r| r["Type"] != kind),
            "{kind} without the cache"
        );
    }
    assert!(off.pointer("/Globals/Function/VpcConfig").is_none());
    let globals = off["Globals"]["Function"]["Environment"]["Variables"]
        .as_object()
        .unwrap();
    let session_store: Vec<&String> = globals
        .keys()
        .filter(|name| name.starts_with("SKIFF_SESSION_STORE"))
        .collect();
    assert!(
        session_store.is_empty(),
        "session-store variables without the cache: {session_store:?}"
    );
    for (name, function) in functions(&off) {
        let policies = function["Properties"]["Policies"].as_array().unwrap();
        assert!(
            policies.iter().all(|p| p.get("Statement").is_some()),
            "{name} has more than its own statements: {policies:?}"
        );
    }

    let on = with_session_store(&template, "elasticache");
    let resources = on["Resources"].as_object().unwrap();
    let globals = &on["Globals"]["Function"];
    assert_eq!(
        globals["VpcConfig"]["SubnetIds"],
        serde_json::json!([{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}])
    );
    let variables = &globals["Environment"]["Variables"];
    let url = variables["SKIFF_SESSION_STORE"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(
        url.starts_with("rediss://skiff@${SessionCache.Endpoint.Address}"),
        "{url}"
    );
    assert_eq!(variables["SKIFF_SESSION_STORE_CLUSTER"], "true");
    assert_eq!(
        variables["SKIFF_SESSION_STORE_AUTH_SECRET"],
        serde_json::json!({"Ref": "SessionCacheSecret"})
    );
    for (name, function) in functions(&on) {
        let policies = function["Properties"]["Policies"].as_array().unwrap();
        assert!(
            policies.contains(&serde_json::json!({"Ref": "SessionCacheAccess"})),
            "{name} cannot read the cache password or attach to the VPC"
        );
    }
    let endpoints: BTreeSet<String> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::EC2::VPCEndpoint")
        .map(|r| {
            let service = r["Properties"]["ServiceName"]["Fn::Sub"].as_str().unwrap();
            service.rsplit('.').next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        endpoints,
        ["dynamodb", "secretsmanager", "sns", "sqs", "states"]
            .map(String::from)
            .into()
    );
    let ingress = &resources["CacheSecurityGroup"]["Properties"]["SecurityGroupIngress"];
    assert_eq!(ingress.as_array().unwrap().len(), 1);
    assert_eq!(
        ingress[0]["SourceSecurityGroupId"],
        serde_json::json!({"Ref": "FunctionSecurityGroup"})
    );
    let cache = &resources["SessionCache"]["Properties"];
    assert_eq!(cache["Engine"], "valkey");
    assert_eq!(
        cache["UserGroupId"],
        serde_json::json!({"Ref": "SessionCacheUsers"})
    );
    // The user may touch Skiff's keys only, under the default key prefix.
    let access = resources["SessionCacheUser"]["Properties"]["AccessString"]
        .as_str()
        .unwrap();
    assert!(
        access.split_whitespace().any(|w| w == "~skiff:*"),
        "{access}"
    );
}

/// `FederatedLogin`: off by default (no pool, no variable, so the route answers
/// 404); `cognito` creates a pool and app client and trusts exactly them;
/// `existing-cognito` trusts the named pool and client. Either way the trusted
/// issuer reaches the two functions that verify ID tokens, no function gets a
/// Cognito permission (the keys are public), and inside the cache's VPC the pool is
/// reached through an endpoint.
#[test]
fn federated_login_trusts_the_stacks_pool_or_the_named_one() {
    let template = template();
    let issuers = |deployed: &Value| {
        deployed
            .pointer("/Globals/Function/Environment/Variables/SKIFF_FEDERATED_ISSUERS")
            .cloned()
    };
    let off = deployed_with(&template, &[]);
    assert_eq!(issuers(&off), None);
    assert!(
        off["Resources"]
            .as_object()
            .unwrap()
            .values()
            .all(|r| !r["Type"].as_str().unwrap().starts_with("AWS::Cognito::"))
    );

    let created = deployed_with(&template, &[("FederatedLogin", "cognito")]);
    let setting = issuers(&created).unwrap()["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        setting,
        r#"[{"issuer":"https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}","audiences":["${UserPoolClient}"]}]"#
    );
    let resources = created["Resources"].as_object().unwrap();
    assert_eq!(resources["UserPool"]["Type"], "AWS::Cognito::UserPool");
    assert_eq!(
        resources["UserPoolClient"]["Properties"]["UserPoolId"],
        serde_json::json!({"Ref": "UserPool"})
    );
    assert_eq!(
        resources["UserPoolClient"]["Properties"]["GenerateSecret"],
        false
    );
    for (name, function) in functions(&created) {
        let policies = serde_json::to_string(&function["Properties"]["Policies"]).unwrap();
        assert!(
            !policies.contains("cognito"),
            "{name} got a Cognito permission"
        );
    }
    assert_eq!(
        template_routes(&created)
            .get("/auth/federated")
            .map(String::as_str),
        Some("login")
    );

    let existing = deployed_with(&template, &[("FederatedLogin", "existing-cognito")]);
    let setting = issuers(&existing).unwrap()["Fn::Sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        setting.contains("${ExistingUserPoolId}")
            && setting.contains("${ExistingUserPoolClientId}")
    );
    assert!(
        !existing["Resources"]
            .as_object()
            .unwrap()
            .contains_key("UserPool")
    );
    assert_eq!(
        template["Rules"]["ExistingUserPoolNamed"]["Assertions"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "existing-cognito without a pool or client id must not deploy"
    );

    let in_vpc = deployed_with(
        &template,
        &[
            ("FederatedLogin", "cognito"),
            ("SessionStore", "elasticache"),
        ],
    );
    assert_eq!(
        in_vpc["Resources"]["CognitoEndpoint"]["Properties"]["ServiceName"]["Fn::Sub"],
        "com.amazonaws.${AWS::Region}.cognito-idp"
    );
    assert!(
        !with_session_store(&template, "elasticache")["Resources"]
            .as_object()
            .unwrap()
            .contains_key("CognitoEndpoint")
    );
}

/// Browser origins reach every function as `SKIFF_CORS_ORIGINS` only when the
/// operator lists some, and preflights reach the functions: API Gateway has no CORS
/// configuration of its own (it would answer every origin's preflight), and every
/// route takes any method, OPTIONS included.
#[test]
fn cors_origins_reach_every_function_and_preflights_reach_the_functions() {
    let template = template();
    let origins = |deployed: &Value| {
        deployed
            .pointer("/Globals/Function/Environment/Variables/SKIFF_CORS_ORIGINS")
            .cloned()
    };
    assert_eq!(origins(&deployed_with(&template, &[])), None);
    let listed = deployed_with(&template, &[("CorsOrigins", "https://shop.example.com")]);
    assert_eq!(
        origins(&listed),
        Some(serde_json::json!({"Ref": "CorsOrigins"}))
    );
    let resources = listed["Resources"].as_object().unwrap();
    assert!(
        resources["HttpApi"]
            .pointer("/Properties/CorsConfiguration")
            .is_none(),
        "API Gateway would answer preflights itself"
    );
    for route in resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Route")
    {
        let key = route["Properties"]["RouteKey"].as_str().unwrap();
        assert!(
            key == "$default" || key.starts_with("ANY "),
            "{key}: an OPTIONS preflight would not reach the function"
        );
    }
}

/// What an operator would miss: a dead-letter queue or a function without its
/// alarm, a function whose canary rolls back on nothing, a log group kept forever.
fn operations_problems(template: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let resources = template["Resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let alarms: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(name, r)| (name, &r["Properties"]))
        .collect();
    let alarm_on = |metric: &str, dimension: &str, value: &Value| {
        alarms.iter().find(|(_, p)| {
            p["MetricName"] == metric
                && p["Dimensions"].as_array().is_some_and(|d| {
                    d.iter()
                        .any(|d| d["Name"] == dimension && &d["Value"] == value)
                })
        })
    };
    for (name, alarm) in &alarms {
        if alarm["AlarmActions"] != serde_json::json!([{"Ref": "AlarmTopic"}]) {
            found.push(format!(
                "{name} notifies no one (AlarmActions is not the AlarmTopic)"
            ));
        }
    }
    let dead_letter_queues: BTreeSet<String> = resources
        .values()
        .filter_map(|r| r.pointer("/Properties/RedrivePolicy/deadLetterTargetArn/Fn::GetAtt/0"))
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    for queue in &dead_letter_queues {
        let name = serde_json::json!({"Fn::GetAtt": [queue, "QueueName"]});
        if alarm_on("ApproximateNumberOfMessagesVisible", "QueueName", &name).is_none() {
            found.push(format!("the dead-letter queue {queue} has no alarm"));
        }
    }
    let http_functions: BTreeSet<&str> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::ApiGatewayV2::Integration")
        .filter_map(integration_function)
        .collect();
    let api_alarm = alarm_on("5xx", "ApiId", &serde_json::json!({"Ref": "HttpApi"}));
    if api_alarm.is_none() {
        found.push("the API has no 5xx alarm".into());
    }
    for (logical, resource) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
    {
        let function = serde_json::json!({"Ref": logical});
        let errors = alarm_on("Errors", "FunctionName", &function);
        if errors.is_none() {
            found.push(format!("{logical} has no Errors alarm"));
        }
        if alarm_on("Throttles", "FunctionName", &function).is_none() {
            found.push(format!("{logical} has no Throttles alarm"));
        }
        let rollback = resource
            .pointer("/Properties/DeploymentPreference/Alarms")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut needed: Vec<&String> = errors.map(|(name, _)| *name).into_iter().collect();
        if http_functions.contains(logical.as_str()) {
            needed.extend(api_alarm.map(|(name, _)| *name));
        }
        for alarm in needed {
            if !rollback.contains(&serde_json::json!({"Ref": alarm})) {
                found.push(format!(
                    "{logical}'s deployment does not roll back on {alarm}"
                ));
            }
        }
        let group = resource
            .pointer("/Properties/LoggingConfig/LogGroup/Ref")
            .and_then(Value::as_str)
            .and_then(|g| resources.get(g));
        if group
            .and_then(|g| g.pointer("/Properties/RetentionInDays"))
            .is_none()
        {
            found.push(format!("{logical} logs to no log group with a retention"));
        }
    }
    let globals = &template["Globals"]["Function"];
    if globals["AutoPublishAlias"].is_null() || globals["DeploymentPreference"]["Type"].is_null() {
        found.push("functions are not deployed through an alias by CodeDeploy".into());
    }
    for (what, metric) in [
        ("failed deletion workflows", "ExecutionsFailed"),
        ("refresh-token reuse", "RefreshReuseDetected"),
    ] {
        if !alarms.iter().any(|(_, p)| p["MetricName"] == metric) {
            found.push(format!("no alarm on {what} ({metric})"));
        }
    }
    found
}

#[test]
fn every_dead_letter_queue_and_function_has_its_alarm_and_canaries_roll_back_on_them() {
    let template = template();
    assert_eq!(operations_problems(&template), Vec::<String>::new());
    let alarms = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .count();
    // 3 DLQs, 7 functions × (errors, throttles), the API, the workflow, token reuse.
    assert_eq!(alarms, 3 + 14 + 3);
}

#[test]
fn a_missing_alarm_or_rollback_trigger_is_caught() {
    let good = template();
    let mut no_dlq_alarm = good.clone();
    no_dlq_alarm["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("StepsDeadLetterQueueAlarm");
    assert_eq!(
        operations_problems(&no_dlq_alarm),
        ["the dead-letter queue StepsDeadLetterQueue has no alarm"]
    );
    let mut no_rollback = good.clone();
    no_rollback["Resources"]["JobsFunction"]["Properties"]["DeploymentPreference"]["Alarms"] =
        serde_json::json!([{"Ref": "JobsErrorsAlarm"}]);
    assert_eq!(
        operations_problems(&no_rollback),
        ["JobsFunction's deployment does not roll back on ApiServerErrorsAlarm"]
    );
    let mut forever = good.clone();
    forever["Resources"]["WorkerLogGroup"]["Properties"]
        .as_object_mut()
        .unwrap()
        .remove("RetentionInDays");
    assert_eq!(
        operations_problems(&forever),
        ["WorkerFunction logs to no log group with a retention"]
    );
}
