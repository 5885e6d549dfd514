//! Runs a built example to completion and returns what it printed, for the
//! tests that check an example does what its guide says.

/// Runs the example `name` (built next to the test binary: plain
/// `cargo test` builds it), asserts it exits successfully and returns its
/// stdout.
pub fn run_example(name: &str) -> String {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --example {name}` (plain `cargo test` builds it)",
        binary.display()
    );
    let out = std::process::Command::new(&binary).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
