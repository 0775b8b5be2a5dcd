//! `infra/azure` against the handler: every queue function the handler serves has
//! a `function.json` and every `function.json` has a handler route, with the
//! binding names, queue settings and host settings the code relies on.

use std::path::{Path, PathBuf};

use serde_json::Value;

use skiff::hosts::azure::{FUNCTIONS, TRIGGER_BINDING, outputs_of, queue_setting};

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/azure")
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every mismatch between the app folder and the handler, as sentences.
fn problems(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let host = match read(&dir.join("host.json")) {
        Ok(host) => host,
        Err(e) => return vec![e],
    };
    if host["customHandler"]["enableForwardingHttpRequest"] != Value::Bool(true) {
        problems.push("host.json: HTTP must be forwarded (enableForwardingHttpRequest)".into());
    }
    if host["extensions"]["http"]["routePrefix"] != "" {
        problems.push("host.json: routePrefix must be \"\" (the contract's paths)".into());
    }
    let max_dequeue = host["extensions"]["queues"]["maxDequeueCount"]
        .as_u64()
        .unwrap_or(5);
    if max_dequeue <= 3 {
        problems.push(format!(
            "host.json: maxDequeueCount {max_dequeue} must exceed the job attempts (3), so a failing job ends failed, not poisoned"
        ));
    }
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("function.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    for name in FUNCTIONS {
        if !folders.iter().any(|f| f == name) {
            problems.push(format!(
                "the handler serves /{name} but there is no {name}/function.json"
            ));
        }
    }
    let mut http_functions = 0;
    for folder in &folders {
        let json = match read(&dir.join(folder).join("function.json")) {
            Ok(json) => json,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let bindings = json["bindings"].as_array().cloned().unwrap_or_default();
        let of_kind = |kind: &str, direction: &str| -> Vec<&Value> {
            bindings
                .iter()
                .filter(|b| b["type"] == kind && b["direction"] == direction)
                .collect()
        };
        if let Some(http) = of_kind("httpTrigger", "in").first() {
            http_functions += 1;
            if http["route"] != "{*path}" {
                problems.push(format!(
                    "{folder}: the HTTP function must route {{*path}} to the contract Router"
                ));
            }
            continue;
        }
        if !FUNCTIONS.contains(&folder.as_str()) {
            problems.push(format!(
                "{folder}/function.json has no handler route /{folder}"
            ));
            continue;
        }
        let setting = |name: &str| queue_setting(name).map(|s| format!("%{s}%"));
        match of_kind("queueTrigger", "in").first() {
            Some(trigger) => {
                if trigger["name"] != TRIGGER_BINDING {
                    problems.push(format!(
                        "{folder}: the trigger binding must be named {TRIGGER_BINDING}"
                    ));
                }
                if trigger["queueName"].as_str() != setting(folder).as_deref() {
                    problems.push(format!(
                        "{folder}: the trigger must read {:?}",
                        setting(folder)
                    ));
                }
            }
            None => problems.push(format!("{folder}: no queueTrigger")),
        }
        let outputs = of_kind("queue", "out");
        for name in outputs_of(folder) {
            match outputs.iter().find(|b| b["name"] == *name) {
                Some(b) if b["queueName"].as_str() == setting(name).as_deref() => {}
                Some(_) => problems.push(format!(
                    "{folder}: output {name} must write {:?}",
                    setting(name)
                )),
                None => problems.push(format!(
                    "{folder}: the handler writes output {name}; declare it"
                )),
            }
        }
    }
    if http_functions != 1 {
        problems.push(format!(
            "expected one HTTP function, found {http_functions}"
        ));
    }
    problems
}

#[test]
fn the_app_folder_matches_the_handler() {
    assert_eq!(problems(&app_dir()), Vec::<String>::new());
}

#[test]
fn a_missing_function_or_an_extra_one_is_reported() {
    let copy = tempfile::tempdir().unwrap();
    for entry in ["host.json", "api", "notifier", "workflow"] {
        let from = app_dir().join(entry);
        let to = copy.path().join(entry);
        if from.is_dir() {
            std::fs::create_dir(&to).unwrap();
            std::fs::copy(from.join("function.json"), to.join("function.json")).unwrap();
        } else {
            std::fs::copy(from, to).unwrap();
        }
    }
    // worker/ left out; an unknown queue function added.
    std::fs::create_dir(copy.path().join("mailer")).unwrap();
    std::fs::copy(
        app_dir().join("notifier/function.json"),
        copy.path().join("mailer/function.json"),
    )
    .unwrap();
    let found = problems(copy.path());
    assert!(
        found.iter().any(|p| p.contains("no worker/function.json")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.contains("mailer/function.json has no handler route")),
        "{found:?}"
    );
}

/// The cart example's Functions app runs the same handler routes with its own
/// binary, so its folder passes the same checks and names `cart-azure`.
#[test]
fn the_cart_app_folder_matches_the_handler_and_names_its_binary() {
    let cart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cart/azure");
    assert_eq!(problems(&cart), Vec::<String>::new());
    let host = read(&cart.join("host.json")).unwrap();
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "cart-azure"
    );
}
