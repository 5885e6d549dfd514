//! Runs `examples/dpop.rs`, the end-to-end example of docs/DPOP.md (a
//! separate binary, like `demo.rs`: plain `cargo test` builds the example).

#[path = "support/run_example.rs"]
mod run_example;

use run_example::run_example;

/// `examples/dpop.rs` (docs/DPOP.md) runs and gets the answers it expects.
#[test]
fn the_example_runs_as_documented() {
    let stdout = run_example("dpop");
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
