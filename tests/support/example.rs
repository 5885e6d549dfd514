//! A browser example (`examples/browser_demo.rs`, `examples/partner_dashboard.rs`) run as a
//! process against a provider, with its stdout lines collected: the address it listens on and
//! the step-ups it starts.
//!
//! ```ignore
//! #[path = "support/browser.rs"]
//! mod browser;
//! #[path = "support/example.rs"]
//! mod example;
//! ```

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::browser::{Group, spawn_group};
use crate::idp;

/// A running example and what it printed.
pub struct Example {
    _process: Group,
    /// Its base URL, from the `listening on` line.
    pub base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Example {
    /// Starts the built example `name` as the OIDC client `client_id` of `issuer` (with the test
    /// API's audience and scope, any free port) plus `envs`, and waits (up to 30 s) until it
    /// listens.
    pub fn start(
        name: &str,
        issuer: &str,
        (client_id, client_secret): (&str, &str),
        envs: &[(&str, &str)],
    ) -> Example {
        let exe = std::env::current_exe().expect("test binary path");
        let binary = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .join("examples")
            .join(name);
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --example {name}` (plain `cargo test` builds it)",
            binary.display()
        );
        let mut process = spawn_group(
            Command::new(&binary)
                .env("TOWER_MFA_ISSUER", issuer)
                .env("TOWER_MFA_AUDIENCE", idp::API_AUDIENCE)
                .env("TOWER_MFA_CLIENT_ID", client_id)
                .env("TOWER_MFA_CLIENT_SECRET", client_secret)
                .env("TOWER_MFA_SCOPES", format!("openid {}", idp::API_SCOPE))
                .envs(envs.iter().copied())
                .env("TOWER_MFA_ADDR", "127.0.0.1:0")
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
        let stdout = process.0.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            let found = lines.lock().unwrap().iter().find_map(|l| {
                l.split_once("listening on ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_owned)
            });
            if let Some(base) = found {
                break base;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start within 30 s: {:?}",
                lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Example {
            _process: process,
            base,
            lines,
        }
    }

    /// How many step-ups the example started so far.
    pub fn step_ups(&self) -> usize {
        // The line is printed before the redirect is sent; give the reader thread a moment.
        std::thread::sleep(Duration::from_millis(100));
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("step-up:"))
            .count()
    }
}
