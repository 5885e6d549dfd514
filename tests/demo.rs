//! The demo prints curl lines; this test runs them exactly as printed (with
//! bash and curl) and checks each answer's status against the comment the
//! line carries.
//!
//! `cargo test` builds the example before running tests; when this test is
//! run alone, build it first (`cargo build --example partner_center`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/demo-<hash> -> target/<profile>/examples/partner_center
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
    profile_dir.join("examples").join("partner_center")
}

#[test]
fn printed_curl_lines_work_as_printed() {
    let binary = example_binary();
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --example partner_center` (plain `cargo test` builds it)",
        binary.display()
    );
    let mut child = Command::new(&binary)
        .env("TOWER_MFA_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let _demo = Demo(child);

    // Read the banner up to the last curl line.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("not-a-jwt")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the demo prints its curl lines within 30 s");
        lines.push(line);
    }

    let mints: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.contains("=$(curl"))
        .collect();
    assert_eq!(mints.len(), 3, "MFA, PWD and APP mint lines: {lines:#?}");
    let tries: Vec<(&str, u16)> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("curl "))
        .map(|l| {
            let (command, comment) = l.split_once('#').expect("each curl line has a comment");
            let expected = comment
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 3)
                .and_then(|w| w.parse().ok())
                .expect("the comment names a status");
            (command.trim(), expected)
        })
        .collect();
    assert!(tries.len() >= 8, "{lines:#?}");

    for (command, expected) in tries {
        let script = format!("set -e\n{}\n{command}\n", mints.join("\n"));
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .expect("bash and curl");
        let text = String::from_utf8_lossy(&out.stdout);
        let status: u16 = text
            .lines()
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status from `{command}`: {text}"));
        assert_eq!(status, expected, "`{command}` answered:\n{text}");
        if expected == 401 && command.contains("$NOMFA") && command.contains("/v1/") {
            assert!(
                text.starts_with("HTTP/1.1 401 Unauthorized - MFA required"),
                "Partner Center reason phrase: {text}"
            );
            assert!(
                text.contains("www-authenticate: Bearer error=\"invalid_token\"\r\n"),
                "{text}"
            );
        }
    }
}

#[test]
fn the_development_issuer_refuses_a_non_loopback_address() {
    let binary = example_binary();
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --example partner_center` (plain `cargo test` builds it)",
        binary.display()
    );
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let mut child = Command::new(&binary)
            .env("TOWER_MFA_ADDR", addr)
            .env("RUST_LOG", "off")
            .env_remove("TOWER_MFA_ISSUER")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the demo");
        let stderr = child.stderr.take().expect("stderr");
        let mut demo = Demo(child);
        // It must exit on its own, without listening.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = demo.0.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "the demo kept running on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success(), "{addr}: {status:?}");
        let message = std::io::read_to_string(stderr).expect("stderr");
        for needle in [
            "loopback",
            "TOWER_MFA_ISSUER",
            "TOWER_MFA_AUDIENCE",
            "TOWER_MFA_JWKS_URL",
            "TOWER_MFA_DISCOVERY_URL",
        ] {
            assert!(message.contains(needle), "{addr}: {message}");
        }
    }
}
