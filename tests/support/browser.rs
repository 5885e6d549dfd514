//! Headless Chromium over WebDriver (chromedriver), the Debian packages `chromium` and
//! `chromium-driver`, installed with apt when missing (as root): sessions with fresh profiles,
//! navigation, page text, elements, typing, clicks, the back button, cookies and screenshots.
//! tests/browser.rs and tests/dashboard.rs drive their examples with it.
//!
//! ```ignore
//! #[path = "support/browser.rs"]
//! mod browser;
//! ```
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The window every session opens with (the size of the screenshots).
pub const WINDOW: (u32, u32) = (1200, 860);
/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A loud skip line on the process's stderr (the harness would hide `eprintln!`).
pub fn skip(why: &str) {
    let banner = format!(
        "\n==================================================================\n\
         SKIPPED browser test: {why}\n  \
         Install Chromium and chromedriver (Debian: apt-get install -y chromium chromium-driver).\n  \
         Under CI=true this is a failure, not a skip.\n\
         ==================================================================\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
}

/// Whether the browser can run, installing it when missing; a test returns at once when not.
/// Under `CI=true` a browser that cannot run is a failure; elsewhere a loud skip.
pub async fn available() -> bool {
    match tokio::task::spawn_blocking(ensure_browser).await.unwrap() {
        Ok(()) => true,
        Err(why) => {
            assert!(!in_ci(), "CI=true: the browser test cannot run: {why}");
            skip(&why);
            false
        }
    }
}

/// Installs Chromium and chromedriver with apt when they are missing.
pub fn ensure_browser() -> Result<(), String> {
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
        // Another apt (another test run, another user) may hold the lock: wait for it.
        let output = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
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

/// Kills a whole process group on drop (chromedriver and the Chromium it started; an example).
pub struct Group(pub Child);

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

pub fn spawn_group(command: &mut Command) -> Group {
    Group(
        command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {command:?}: {e}")),
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A minimal WebDriver client.
pub struct Driver {
    _process: Group,
    url: String,
    http: reqwest::Client,
}

/// One browser with its own fresh profile.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
    profile: PathBuf,
}

impl Driver {
    pub async fn start() -> Driver {
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
    pub async fn session(&self) -> Session<'_> {
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
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ])
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
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn back(&self) {
        self.call(reqwest::Method::POST, "/back", Some(json!({})))
            .await;
    }

    pub async fn current_url(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/url", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The path of the current URL.
    pub async fn path(&self) -> String {
        let current = self.current_url().await;
        reqwest::Url::parse(&current)
            .map(|u| u.path().to_owned())
            .unwrap_or(current)
    }

    /// Runs a script and returns its value.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The text of the element with this id, if any.
    pub async fn text(&self, id: &str) -> Option<String> {
        let value = self
            .script(
                "const e = document.getElementById(arguments[0]); return e ? e.textContent.trim() : null;",
                json!([id]),
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Whether an element matches this CSS selector.
    pub async fn has(&self, selector: &str) -> bool {
        self.script(
            "return document.querySelector(arguments[0]) !== null;",
            json!([selector]),
        )
        .await
            == json!(true)
    }

    /// The page's HTML.
    pub async fn page(&self) -> String {
        let value = self.call(reqwest::Method::GET, "/source", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The visible text of the page.
    pub async fn body_text(&self) -> String {
        let value = self
            .script(
                "return document.body ? document.body.innerText : '';",
                json!([]),
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Waits (up to 15 s) until the element `#title` reads `title`; panics with the page
    /// otherwise.
    pub async fn wait_title(&self, title: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.text("title").await.as_deref() == Some(title) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited for a page titled {title:?}; at {} with {:?}: {}",
                    self.current_url().await,
                    self.text("title").await,
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 15 s) until an element matches `selector`; panics with the page otherwise.
    pub async fn wait_for(&self, selector: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.has(selector).await {
            if Instant::now() > deadline {
                panic!(
                    "waited for {selector}; at {}: {}",
                    self.current_url().await,
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn element(&self, selector: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}: {value}"))
            .to_owned()
    }

    /// Types into the element matching `selector` (after clearing it).
    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// One cookie, as WebDriver describes it.
    pub async fn cookie(&self, name: &str) -> Value {
        self.call(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .await
    }

    /// A cookie's value, if the browser has it for the current page.
    pub async fn cookie_value(&self, name: &str) -> Option<String> {
        let all = self.call(reqwest::Method::GET, "/cookie", None).await;
        all.as_array()?
            .iter()
            .find(|c| c["name"] == json!(name))
            .and_then(|c| c["value"].as_str())
            .map(str::to_owned)
    }

    /// Replaces a cookie's value (same path, `HttpOnly`) on the current page's site.
    pub async fn set_cookie(&self, name: &str, value: &str) {
        self.call(reqwest::Method::DELETE, &format!("/cookie/{name}"), None)
            .await;
        self.call(
            reqwest::Method::POST,
            "/cookie",
            Some(json!({"cookie": {
                "name": name, "value": value, "path": "/", "httpOnly": true, "sameSite": "Lax",
            }})),
        )
        .await;
    }

    /// Saves a PNG of the window as `dir/name.png` and returns its path.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let value = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("a base64 screenshot"))
            .expect("the screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    pub async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
