//! The declared `rust-version` stays true: no package in the dependency graph
//! (normal, dev, build and optional dependencies, every platform) declares a
//! newer one. The toolchain of the declared version cannot be installed
//! here, so this test and clippy's `incompatible_msrv` lint (for the standard
//! library's APIs) stand in for building with it.

use std::process::Command;

use serde_json::Value;

/// `"1.88"` or `"1.88.0"` as a comparable triple.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a rust-version: {text}"))
    });
    let major = parts.next().unwrap_or_else(|| panic!("empty rust-version"));
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    assert!(parts.next().is_none(), "not a rust-version: {text}");
    (major, minor, patch)
}

#[test]
fn version_parsing_orders_as_cargo_does() {
    assert!(version("1.88") < version("1.89"));
    assert!(version("1.88") == version("1.88.0"));
    assert!(version("1.88.1") > version("1.88"));
    assert!(version("1.100") > version("1.99.9"));
}

#[test]
fn no_dependency_needs_a_newer_rust_than_ours() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours = packages
        .iter()
        .find(|p| p["name"] == env!("CARGO_PKG_NAME"))
        .and_then(|p| p["rust_version"].as_str())
        .expect("tower-mfa declares a rust-version");
    assert_eq!(ours, env!("CARGO_PKG_RUST_VERSION"));
    let ours = version(ours);
    // Every package cargo resolved, not only this platform's or features'.
    assert!(packages.len() > 100, "{} packages", packages.len());
    let newer: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let wanted = p["rust_version"].as_str()?;
            (version(wanted) > ours)
                .then(|| format!("{} {} needs {wanted}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        newer.is_empty(),
        "dependencies need a newer Rust than rust-version {}: {newer:?}",
        env!("CARGO_PKG_RUST_VERSION")
    );
}
