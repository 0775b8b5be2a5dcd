//! The Lambda Managed Instances template (`infra/managed-instances/template.json`,
//! composed from infra/template.yaml and its overlay): what cfn-lint and `sam
//! validate` do not check. Every function runs on the stack's capacity provider with
//! the concurrency parameter and no VPC of its own, and everything that invokes a
//! function invokes its published alias, because Managed Instances run published
//! versions only. `tests/run` checks the file is not stale and lints it.

use serde_json::{Value, json};

fn template() -> Value {
    let path = std::env::var("SKIFF_TEST_MANAGED_INSTANCES_TEMPLATE_JSON").unwrap_or_else(|_| {
        panic!(
            "SKIFF_TEST_MANAGED_INSTANCES_TEMPLATE_JSON is unset: run the tests with `make test`"
        )
    });
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// What `value` names as a function: `{"Ref": "LoginFunction.Alias"}` → ("LoginFunction", "Alias").
fn reference(value: &Value) -> Option<(String, String)> {
    if let Some(name) = value.get("Ref").and_then(Value::as_str) {
        let (resource, attribute) = name.split_once('.').unwrap_or((name, ""));
        return Some((resource.to_owned(), attribute.to_owned()));
    }
    let get_att = value.get("Fn::GetAtt")?.as_array()?;
    Some((
        get_att[0].as_str()?.to_owned(),
        get_att[1].as_str()?.to_owned(),
    ))
}

/// Problems of a Managed Instances template; none for the committed one.
fn problems(template: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let globals = &template["Globals"]["Function"];
    let config = &globals["CapacityProviderConfig"];
    if reference(&config["Arn"]) != Some(("CapacityProvider".into(), "Arn".into())) {
        found.push(format!(
            "functions are not on the stack's capacity provider: {config}"
        ));
    }
    if config["PerExecutionEnvironmentMaxConcurrency"]
        != json!({"Ref": "PerEnvironmentConcurrency"})
    {
        found.push("the per-environment concurrency is not the parameter".into());
    }
    if globals
        .get("AutoPublishAlias")
        .and_then(Value::as_str)
        .is_none()
    {
        found.push(
            "functions publish no alias: Managed Instances run published versions only".into(),
        );
    }
    if globals.get("VpcConfig").is_some() {
        found.push("the functions' VpcConfig is set: it excludes CapacityProviderConfig".into());
    }
    let provider = &template["Resources"]["CapacityProvider"];
    if provider["Type"] != "AWS::Serverless::CapacityProvider" {
        found.push("no CapacityProvider resource".into());
    }
    if provider["Properties"]["InstanceRequirements"]["Architectures"] != globals["Architectures"] {
        found.push("the instances' architecture is not the functions'".into());
    }
    let functions = resources_of(template, "AWS::Serverless::Function");
    let names: Vec<&String> = functions.iter().map(|(name, _)| *name).collect();
    for (name, function) in &functions {
        let properties = &function["Properties"];
        for key in [
            "VpcConfig",
            "CapacityProviderConfig",
            "ProvisionedConcurrencyConfig",
        ] {
            if properties.get(key).is_some() {
                found.push(format!("{name} sets its own {key}"));
            }
        }
        let memory = properties
            .get("MemorySize")
            .or_else(|| globals.get("MemorySize"))
            .and_then(Value::as_u64)
            .unwrap_or(128);
        if memory < 2048 {
            found.push(format!(
                "{name} has {memory} MB: 2 GiB per vCPU needs at least 2048"
            ));
        }
    }
    // Everything that invokes a function names its alias.
    let invokers = resources_of(template, "AWS::ApiGatewayV2::Integration")
        .into_iter()
        .map(|(name, r)| (name, &r["Properties"]["IntegrationUri"]))
        .chain(
            resources_of(template, "AWS::Lambda::Permission")
                .into_iter()
                .map(|(name, r)| (name, &r["Properties"]["FunctionName"])),
        );
    for (name, target) in invokers {
        match reference(target) {
            Some((function, attribute)) if names.contains(&&function) => {
                if attribute != "Alias" {
                    found.push(format!(
                        "{name} invokes {function}'s unpublished {attribute:?}, not its alias"
                    ));
                }
            }
            other => found.push(format!(
                "{name} invokes no function of the stack: {other:?}"
            )),
        }
    }
    let allowed = &template["Parameters"]["SessionStore"]["AllowedValues"];
    if allowed != &json!(["dynamodb"]) {
        found.push(format!(
            "SessionStore allows {allowed}: the cache's VPC is not the capacity provider's"
        ));
    }
    found
}

#[test]
fn every_function_runs_on_the_capacity_provider_and_is_invoked_through_its_alias() {
    let template = template();
    assert_eq!(problems(&template), Vec::<String>::new());
    // The stack still has every function and every invoker the main template has.
    assert_eq!(
        resources_of(&template, "AWS::Serverless::Function").len(),
        7
    );
    assert_eq!(
        resources_of(&template, "AWS::ApiGatewayV2::Integration").len(),
        4
    );
}

#[test]
fn a_function_left_on_classic_compute_or_invoked_unpublished_is_caught() {
    let good = template();

    let mut vpc = good.clone();
    vpc["Resources"]["WorkerFunction"]["Properties"]["VpcConfig"] = json!({"SubnetIds": []});
    assert_eq!(problems(&vpc), ["WorkerFunction sets its own VpcConfig"]);

    let mut unpublished = good.clone();
    unpublished["Resources"]["JobsIntegration"]["Properties"]["IntegrationUri"] =
        json!({"Fn::GetAtt": ["JobsFunction", "Arn"]});
    assert_eq!(
        problems(&unpublished),
        ["JobsIntegration invokes JobsFunction's unpublished \"Arn\", not its alias"]
    );

    let mut small = good.clone();
    small["Resources"]["LoginFunction"]["Properties"]["MemorySize"] = json!(512);
    assert_eq!(
        problems(&small),
        ["LoginFunction has 512 MB: 2 GiB per vCPU needs at least 2048"]
    );

    let mut classic = good.clone();
    classic["Globals"]["Function"]
        .as_object_mut()
        .unwrap()
        .remove("AutoPublishAlias");
    assert_eq!(
        problems(&classic),
        ["functions publish no alias: Managed Instances run published versions only"]
    );
}
