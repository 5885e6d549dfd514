//! The demo prints curl lines; this test runs them exactly as printed (with
//! bash and curl) and checks each answer's status against the comment the
//! line carries.
//!
//! `cargo test` builds the example before running tests; when this test is
//! run alone, build it first (`cargo build --example partner_center`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The built demo; fails the test when it has not been built.
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/demo-<hash> -> target/<profile>/examples/partner_center
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
    let binary = profile_dir.join("examples").join("partner_center");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --example partner_center` (plain `cargo test` builds it)",
        binary.display()
    );
    binary
}

/// Starts the demo with `args` and `envs` (any free port, no logs, no issuer
/// or configuration file from this environment unless `envs` names one) and
/// returns it with its stdout lines. A thread reads stdout to the end, so the
/// demo can always print its whole banner.
fn start_demo(args: &[&str], envs: &[(&str, &str)]) -> (Demo, Receiver<String>) {
    let binary = example_binary();
    let mut child = Command::new(&binary)
        .args(args)
        .env("TOWER_MFA_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "off")
        .env_remove("TOWER_MFA_CONFIG")
        .env_remove("TOWER_MFA_ISSUER")
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let stdout = child.stdout.take().expect("stdout");
    let demo = Demo(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // Keep reading when nobody listens any more.
            let _ = tx.send(line);
        }
    });
    (demo, rx)
}

#[test]
fn printed_curl_lines_work_as_printed() {
    printed_lines_work(&[]);
}

/// The shipped configuration file, from the package root.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/partner-center.toml");

/// Starts the demo with `args`, runs its printed curl lines, and returns
/// the running demo and its base URL.
fn printed_lines_work(args: &[&str]) -> (Demo, String) {
    let (demo, rx) = start_demo(args, &[]);

    // Read the banner up to the last curl line.
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
    let base = lines
        .iter()
        .find_map(|l| {
            l.split_once("listening on ")
                .map(|(_, b)| b.trim().to_owned())
        })
        .expect("the banner names the address");
    (demo, base)
}

/// Runs `script` with bash; its standard output.
fn bash(script: &str) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e\n{script}"))
        .output()
        .expect("bash and curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A route's answer to a token of `kind` from the development issuer: the
/// status line and the `www-authenticate` value.
fn answer(base: &str, kind: &str, path: &str) -> (String, Option<String>) {
    let text = bash(&format!(
        "T=$(curl -s '{base}/dev-issuer/token?kind={kind}')\ncurl -si -H \"Authorization: Bearer $T\" {base}{path}"
    ));
    let status = text.lines().next().unwrap_or("").trim().to_owned();
    let challenge = text
        .lines()
        .find_map(|l| l.strip_prefix("www-authenticate: "))
        .map(|v| v.trim().to_owned());
    (status, challenge)
}

#[test]
fn the_demo_behaves_as_its_configuration_file_says() {
    let (_demo, base) = printed_lines_work(&["--config", CONFIG]);
    let ok = || ("HTTP/1.1 200 OK".to_owned(), None);
    // Billing: the `c2` authentication context, asked for with RFC 9470.
    assert_eq!(
        answer(&base, "mfa", "/v1/billing/invoices"),
        (
            "HTTP/1.1 401 Unauthorized".to_owned(),
            Some("Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", acr_values=\"c2\"".to_owned())
        )
    );
    assert_eq!(answer(&base, "c2", "/v1/billing/invoices"), ok());
    // App-only tokens are denied on billing, allowed on customers.
    assert_eq!(
        answer(&base, "app", "/v1/billing/invoices").0,
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(answer(&base, "app", "/v1/customers").0, "HTTP/1.1 200 OK");
    // Admin: a fresh MFA sign-in passes (the issuer stamps auth_time now).
    assert_eq!(answer(&base, "mfa", "/v1/admin/users"), ok());
    assert_eq!(
        answer(&base, "pwd", "/v1/admin/users"),
        (
            "HTTP/1.1 401 Unauthorized".to_owned(),
            Some("Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", max_age=\"300\"".to_owned())
        )
    );
    // Customers: Partner Center's answer.
    assert_eq!(
        answer(&base, "pwd", "/v1/customers"),
        (
            "HTTP/1.1 401 Unauthorized - MFA required".to_owned(),
            Some("Bearer error=\"invalid_token\"".to_owned())
        )
    );
}

#[test]
fn the_configuration_file_can_come_from_the_environment() {
    // TOWER_MFA_CONFIG instead of --config: billing answers as the file says.
    let (_demo, rx) = start_demo(&[], &[("TOWER_MFA_CONFIG", CONFIG)]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the banner names the address");
        if let Some((_, base)) = line.split_once("listening on ") {
            break base.trim().to_owned();
        }
    };
    assert_eq!(
        answer(&base, "mfa", "/v1/billing/invoices").0,
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        answer(&base, "c2", "/v1/billing/invoices").0,
        "HTTP/1.1 200 OK"
    );
}

#[test]
fn the_development_issuer_refuses_a_non_loopback_address() {
    let binary = example_binary();
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
