//! Each platform's binaries link only that platform's code: the Azure handler no
//! AWS SDK or Lambda crate, the Lambda functions no Azure code. Read from cargo's own
//! dependency resolution of each binary, as `cargo build -p <binary>` builds it.

use std::process::Command;

const LAMBDA_PACKAGES: [&str; 7] = [
    "skiff-login",
    "skiff-session",
    "skiff-jobs",
    "skiff-account",
    "skiff-worker",
    "skiff-notifier",
    "skiff-workflow",
];

/// `(package, enabled features)` for every normal dependency of `package`.
fn dependencies(package: &str) -> Vec<(String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}|{f}", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('|'))
        .map(|(p, f)| {
            let name = p.split_whitespace().next().unwrap_or_default().to_owned();
            (name, f.to_owned())
        })
        .collect()
}

fn skiff_features(deps: &[(String, String)]) -> Vec<String> {
    deps.iter()
        .find(|(name, _)| name == "skiff")
        .map(|(_, f)| f.split(',').map(str::to_owned).collect())
        .expect("every binary depends on skiff")
}

#[test]
fn the_azure_handler_links_no_aws_crate() {
    let deps = dependencies("skiff-azure");
    let aws: Vec<&String> = deps
        .iter()
        .map(|(name, _)| name)
        // aws-lc is a cryptography library (it signs the tokens on every host), not
        // AWS service code.
        .filter(|name| {
            (name.starts_with("aws") && !name.starts_with("aws-lc")) || name.starts_with("lambda")
        })
        .collect();
    assert!(aws.is_empty(), "skiff-azure links {aws:?}");
    // Redis (Azure Cache for Redis) is no AWS code: the handler may keep sessions there.
    assert_eq!(skiff_features(&deps), ["azure", "redis"]);
}

#[test]
fn the_lambda_functions_link_no_azure_code() {
    for package in LAMBDA_PACKAGES {
        let deps = dependencies(package);
        let features = skiff_features(&deps);
        assert!(
            !features.iter().any(|f| f == "azure" || f == "sqlite"),
            "{package} builds skiff with {features:?}"
        );
        assert!(
            !deps.iter().any(|(name, _)| name == "quick-xml"),
            "{package} links the Azure storage client's crates"
        );
    }
}
