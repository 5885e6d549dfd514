//! Runs `examples/dpop.rs`, the end-to-end example of docs/DPOP.md (a
//! separate binary, like `demo.rs`: plain `cargo test` builds the example).

/// `examples/dpop.rs` (docs/DPOP.md) runs and gets the answers it expects.
#[test]
fn the_example_runs_as_documented() {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
    let binary = profile_dir.join("examples").join("dpop");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --example dpop` (plain `cargo test` builds it)",
        binary.display()
    );
    let out = std::process::Command::new(&binary).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("DPoP token with its proof: 200 OK"),
        "{stdout}"
    );
    assert!(stdout.contains("the same proof again (replay): 401 Unauthorized [\"DPoP error=\\\"invalid_dpop_proof\\\""), "{stdout}");
    assert!(
        stdout.contains("the bound token as Bearer (downgrade): 401"),
        "{stdout}"
    );
}
