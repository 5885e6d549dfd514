//! Partner Center's MFA scenarios in a real browser: headless Chromium (driven over
//! WebDriver by chromedriver) signs in to `examples/browser_demo.rs` at the
//! real test OpenID Provider (tests/idp/server.mjs) with authorization code +
//! PKCE.
//!
//! - Example 1: a user who did MFA at sign-in opens `/dashboard/customers`
//!   directly, with no step-up.
//! - Example 3: a password-only user reaches `/dashboard` (an unauthenticated
//!   browser is first sent to sign in), is sent through step-up when opening
//!   `/dashboard/customers`, and ends there with `mfa` in `amr`.
//! - The same token without `text/html` in `Accept` gets the layer's 401, not
//!   a redirect; `return_to` never leaves the site.
//!
//! Chromium and chromedriver are installed (`apt-get install -y chromium
//! chromium-driver`, as root) when missing. Under `CI=true` the test never
//! skips; elsewhere it skips loudly when they cannot be installed.
//!
//! `cargo test` builds the example first; when this test is run alone, build
//! it too (`cargo build --example browser_demo`).

#[path = "support/idp.rs"]
mod idp;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEMO_CLIENT_ID: &str = "browser-demo";
const DEMO_CLIENT_SECRET: &str = "browser-demo-secret";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn skip(why: &str) {
    let banner = format!(
        "\n==================================================================\n\
         SKIPPED browser test: {why}\n  \
         Install Chromium and chromedriver (Debian: apt-get install -y chromium chromium-driver).\n  \
         Under CI=true this is a failure, not a skip.\n\
         ==================================================================\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
}

/// Installs Chromium and chromedriver with apt when they are missing.
fn ensure_browser() -> Result<(), String> {
    let present = || Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if present() {
        return Ok(());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        return Err(format!(
            "{CHROMIUM} or {CHROMEDRIVER} is missing and installing needs root (uid {uid:?})"
        ));
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"browser test: installing chromium and chromium-driver with apt-get\n",
    );
    let run = |args: &[&str]| -> Result<(), String> {
        let output = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "apt-get {args:?} failed ({}):\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    run(&["update"])?;
    run(&[
        "install",
        "-y",
        "--no-install-recommends",
        "chromium",
        "chromium-driver",
    ])?;
    if present() {
        Ok(())
    } else {
        Err("apt-get succeeded but chromium or chromedriver is still missing".to_owned())
    }
}

/// Kills a whole process group on drop (chromedriver and the Chromium it
/// started; the demo).
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pid = self.0.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_group(command: &mut Command) -> Group {
    Group(
        command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}")),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The demo, with its stdout lines collected.
struct Demo {
    _process: Group,
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Demo {
    fn start(issuer: &str) -> Demo {
        let exe = std::env::current_exe().expect("test binary path");
        let binary = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .join("examples")
            .join("browser_demo");
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build --example browser_demo` (plain `cargo test` builds it)",
            binary.display()
        );
        let mut process = spawn_group(
            Command::new(&binary)
                .env("TOWER_MFA_ISSUER", issuer)
                .env("TOWER_MFA_AUDIENCE", idp::API_AUDIENCE)
                .env("TOWER_MFA_CLIENT_ID", DEMO_CLIENT_ID)
                .env("TOWER_MFA_CLIENT_SECRET", DEMO_CLIENT_SECRET)
                .env("TOWER_MFA_SCOPES", format!("openid {}", idp::API_SCOPE))
                .env("TOWER_MFA_STEP_UP_HINT_SUFFIX", ":mfa")
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
                "the demo did not start within 30 s: {:?}",
                lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Demo {
            _process: process,
            base,
            lines,
        }
    }

    /// How many step-ups the demo started so far.
    fn step_ups(&self) -> usize {
        // The line is printed before the redirect is sent; give the reader
        // thread a moment to catch up.
        std::thread::sleep(Duration::from_millis(100));
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("step-up:"))
            .count()
    }
}

/// A minimal WebDriver client.
struct Driver {
    _process: Group,
    url: String,
    http: reqwest::Client,
}

struct Session<'d> {
    driver: &'d Driver,
    id: String,
    profile: PathBuf,
}

impl Driver {
    async fn start() -> Driver {
        let port = free_port();
        let process = spawn_group(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let driver = Driver {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .and_then(|r| r.status().is_success().then_some(()));
            if ready.is_some() {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {path}: {status}: {value}"
        );
        value["value"].clone()
    }

    /// A new browser with a fresh profile.
    async fn session(&self) -> Session<'_> {
        let profile = std::env::temp_dir().join(format!(
            "tower-mfa-chromium-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let value = self
            .call(
                reqwest::Method::POST,
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
                    "timeouts": {"pageLoad": 30000, "script": 10000},
                }}})),
            )
            .await;
        let id = value["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId: {value}"))
            .to_owned();
        Session {
            driver: self,
            id,
            profile,
        }
    }
}

impl Session<'_> {
    async fn goto(&self, url: &str) {
        self.driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/url", self.id),
                Some(json!({ "url": url })),
            )
            .await;
    }

    async fn current_url(&self) -> String {
        let value = self
            .driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/url", self.id),
                None,
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The text of the element with this id, if any.
    async fn text(&self, id: &str) -> Option<String> {
        let value = self
            .driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/sync", self.id),
                Some(json!({
                    "script": "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
                    "args": [id],
                })),
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    async fn page(&self) -> String {
        let value = self
            .driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/source", self.id),
                None,
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    async fn cookie(&self, name: &str) -> Value {
        self.driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{}/cookie/{name}", self.id),
                None,
            )
            .await
    }

    async fn close(self) {
        self.driver
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.id),
                None,
            )
            .await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    /// Navigates, then checks the final page's path, title and `amr`.
    async fn expect(&self, url: &str, path: &str, title: &str) -> String {
        self.goto(url).await;
        let current = self.current_url().await;
        let page = self.page().await;
        let parsed = reqwest::Url::parse(&current).expect("current URL");
        assert_eq!(
            parsed.path(),
            path,
            "{url} ended on {current}, not {path}: {page}"
        );
        assert_eq!(
            self.text("title").await.as_deref(),
            Some(title),
            "{url}: {page}"
        );
        assert_eq!(
            self.text("user").await.as_deref(),
            Some(idp::USER),
            "{url}: {page}"
        );
        self.text("amr").await.unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_1_to_3_in_headless_chromium() {
    let started = Instant::now();
    if let Err(why) = tokio::task::spawn_blocking(ensure_browser).await.unwrap() {
        assert!(!in_ci(), "CI=true: the browser test cannot run: {why}");
        skip(&why);
        return;
    }
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let demo = Demo::start(idp.issuer());
    let base = demo.base.clone();
    let driver = Driver::start().await;

    // Example 1: MFA at sign-in, then straight to the customers page. The
    // `return_to` given here is another site's: the demo ignores it.
    let browser = driver.session().await;
    let amr = browser
        .expect(
            &format!("{base}/login?login_hint=alice:mfa&return_to=%2F%2Fevil.example%2Fx"),
            "/dashboard",
            "Dashboard",
        )
        .await;
    assert!(
        browser.current_url().await.starts_with(&base),
        "return_to left the site: {}",
        browser.current_url().await
    );
    assert_eq!(amr, "pwd mfa");
    let amr = browser
        .expect(
            &format!("{base}/dashboard/customers"),
            "/dashboard/customers",
            "Customers",
        )
        .await;
    assert_eq!(amr, "pwd mfa");
    assert_eq!(demo.step_ups(), 0, "example 1 needs no step-up");
    // The home page (optional sign-in) shows who is signed in.
    browser.goto(&format!("{base}/")).await;
    let user = browser.text("user").await;
    assert!(
        user.as_deref().is_some_and(|u| !u.is_empty() && u != "?"),
        "home page: {user:?} {}",
        browser.page().await
    );
    browser.close().await;

    // The authorization request names `openid` once.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = no_redirects
        .get(format!("{base}/login?return_to=%2Fdashboard"))
        .send()
        .await
        .unwrap();
    let location = login
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect to the authorization endpoint")
        .to_owned();
    let authorize = reqwest::Url::parse(&location).unwrap();
    let scope = authorize
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .expect("a scope parameter");
    let words: Vec<&str> = scope.split(' ').collect();
    assert_eq!(
        words.iter().filter(|w| **w == "openid").count(),
        1,
        "scope={scope}"
    );
    assert!(words.contains(&idp::API_SCOPE), "scope={scope}");

    // Example 3: an unauthenticated browser is sent to sign in (password only)...
    let browser = driver.session().await;
    let amr = browser
        .expect(&format!("{base}/dashboard"), "/dashboard", "Dashboard")
        .await;
    assert_eq!(amr, "pwd", "signed in with a password only");

    // ... the token is in an HttpOnly, SameSite=Lax cookie ...
    let cookie = browser.cookie("tmfa_at").await;
    assert_eq!(cookie["httpOnly"], json!(true), "{cookie}");
    assert_eq!(cookie["sameSite"], json!("Lax"), "{cookie}");
    let token = cookie["value"].as_str().expect("cookie value").to_owned();
    let (_, claims) = idp::decode_jwt(&token);
    assert_eq!(claims["amr"], json!(["pwd"]));

    // ... with which an API client (no text/html) gets 401, a browser 303 to step-up ...
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let customers = format!("{base}/dashboard/customers");
    let get = |accept: &'static str| {
        http.get(&customers)
            .header("cookie", format!("tmfa_at={token}"))
            .header("accept", accept)
            .send()
    };
    let api = get("application/json").await.unwrap();
    assert_eq!(api.status(), 401, "an API request without MFA");
    assert!(
        api.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("invalid_token")),
        "{:?}",
        api.headers()
    );
    let html = get("text/html,application/xhtml+xml").await.unwrap();
    assert_eq!(html.status(), 303, "a browser request without MFA");
    assert_eq!(
        html.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/step-up?return_to=%2Fdashboard%2Fcustomers")
    );
    let anonymous = http.get(&customers).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "an API request without a token");

    // ... and the browser goes through step-up and lands on the customers page.
    let before = demo.step_ups();
    let amr = browser
        .expect(&customers, "/dashboard/customers", "Customers")
        .await;
    assert_eq!(amr, "pwd mfa", "after step-up");
    assert_eq!(demo.step_ups(), before + 1, "one step-up");
    let (_, claims) = idp::decode_jwt(
        browser.cookie("tmfa_at").await["value"]
            .as_str()
            .expect("cookie"),
    );
    assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
    browser.close().await;

    drop(driver);
    drop(demo);
    idp.stop();
    eprintln!("browser test took {:?}", started.elapsed());
}
