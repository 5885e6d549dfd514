//! A real OpenID Provider for integration tests: `tests/idp/server.mjs` (oidc-provider on Node),
//! driven over real HTTP on 127.0.0.1.
//!
//! Include it from an integration test with
//!
//! ```ignore
//! #[path = "support/idp.rs"]
//! mod idp;
//!
//! #[tokio::test]
//! async fn something() {
//!     let Some(idp) = idp::start_or_skip().await else { return };
//!     let token = idp.app_token().await;
//!     // ... point the layer at idp.issuer() ...
//! }
//! ```
//!
//! Node is needed. Without `node` (or, on a fresh clone, without `npm`) the helper panics under
//! `CI=true` and otherwise returns [`Unavailable`], which [`start_or_skip`] turns into a loud
//! skip. `npm ci` runs once into `tests/idp/node_modules` when it is missing, safely when several
//! test binaries start at once (each installs into its own staging directory, the first atomic
//! rename wins).
//!
//! The provider dies with the test process (it exits when its piped stdin closes) and is killed
//! when the [`TestIdp`] is dropped or [`TestIdp::stop`]ped. Set `TOWER_MFA_IDP_LOG=1` to see
//! its stderr live; it is also quoted in every panic message of this helper.
#![allow(dead_code)]

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The audience (`aud`) of every access token the provider issues.
pub const API_AUDIENCE: &str = "api://tower-mfa-tests";
/// The scope of every access token the provider issues.
pub const API_SCOPE: &str = "customers.read";
/// Client-credentials (app-only) client.
pub const APP_CLIENT_ID: &str = "app-client";
pub const APP_CLIENT_SECRET: &str = "app-secret";
/// Client-credentials client whose tokens are certificate-bound (RFC 8705).
pub const MTLS_CLIENT_ID: &str = "mtls-client";
pub const MTLS_CLIENT_SECRET: &str = "mtls-secret";
/// The loopback-only header naming the client certificate (URL-encoded PEM)
/// the provider binds tokens to, so it can stay on plain http.
pub const TEST_CERTIFICATE_HEADER: &str = "x-test-client-certificate";
/// Public authorization-code + PKCE client.
pub const WEB_CLIENT_ID: &str = "web-client";
/// Never contacted: the code is read from the `Location` header.
pub const REDIRECT_URI: &str = "http://127.0.0.1/cb";
/// The user that [`TestIdp::user_token`] logs in.
pub const USER: &str = "alice";

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 20;
const STDERR_KEEP: usize = 64 * 1024;

/// The provider cannot run on this machine (no Node, or its packages cannot be installed) and
/// the tests are not running under `CI=true`. Turn it into a loud skip.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// Tokens from the authorization-code or refresh-token grant.
#[derive(Debug, Clone)]
pub struct UserTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub id_token: Option<String>,
}

/// A running test OpenID Provider. Killed on drop.
pub struct TestIdp {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    child: Mutex<Option<Child>>,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

/// [`TestIdp::start`], with [`Unavailable`] printed as a loud skip and turned into `None`.
/// Use as `let Some(idp) = idp::start_or_skip().await else { return };`.
pub async fn start_or_skip() -> Option<TestIdp> {
    match TestIdp::start().await {
        Ok(idp) => Some(idp),
        Err(Unavailable(why)) => {
            // Straight to the process's stderr, not eprintln!: the test harness would capture
            // and hide that for a test that passes.
            let banner = format!(
                "\n==================================================================\n\
                 SKIPPED {}: this test needs the test OpenID Provider (Node), but:\n  {why}\n  \
                 Install Node.js and npm (Debian/Ubuntu: apt-get install -y nodejs npm).\n  \
                 Under CI=true this is a failure, not a skip.\n\
                 ==================================================================\n",
                std::thread::current().name().unwrap_or("test"),
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
            None
        }
    }
}

/// Decodes a JWT's header and payload without verifying anything. Panics on malformed input.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("not a compact JWS (three dot-separated parts): {token:?}");
    };
    let decode = |segment: &str, what: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap_or_else(|e| panic!("JWT {what} is not base64url: {e}: {token:?}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("JWT {what} is not JSON: {e}: {token:?}"))
    };
    (decode(header, "header"), decode(payload, "payload"))
}

impl TestIdp {
    /// Starts a fresh provider on its own port (installing its npm packages first when needed)
    /// and waits until it is ready and its discovery document answers.
    ///
    /// Panics under `CI=true` when Node/npm are missing; panics whenever Node is there but the
    /// provider does not come up.
    pub async fn start() -> Result<TestIdp, Unavailable> {
        let dir = idp_dir();
        let prepared = tokio::task::spawn_blocking(move || prepare(&dir))
            .await
            .unwrap_or_else(|e| match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("preparing the test IdP: {e}"),
            })?;
        let Prepared { node, dir } = prepared;

        let mut child = Command::new(&node)
            .arg("server.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {} server.mjs: {e}", node.display()));

        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let pipe = child.stderr.take().expect("piped stderr");
            let sink = Arc::clone(&stderr);
            let live = std::env::var_os("TOWER_MFA_IDP_LOG").is_some_and(|v| !v.is_empty());
            std::thread::spawn(move || forward_stderr(pipe, sink, live));
        }

        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<String, String>>();
        {
            let pipe = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = String::new();
                let first = match reader.read_line(&mut line) {
                    Ok(0) => Err("the provider exited before printing its ready line".to_owned()),
                    Ok(_) => Ok(line),
                    Err(e) => Err(format!("reading the provider's stdout: {e}")),
                };
                let _ = ready_tx.send(first);
                // Keep draining so the provider can never block on a full pipe.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
        }

        let line = match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(Ok(line))) => line,
            Ok(Ok(Err(why))) => fail_start(child, &stderr, &why),
            Ok(Err(_)) => fail_start(child, &stderr, "stdout reader vanished"),
            Err(_) => fail_start(
                child,
                &stderr,
                &format!("no ready line within {READY_TIMEOUT:?}"),
            ),
        };
        let ready: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => fail_start(
                child,
                &stderr,
                &format!("ready line is not JSON ({e}): {line:?}"),
            ),
        };
        let issuer = match (ready["ready"].as_bool(), ready["issuer"].as_str()) {
            (Some(true), Some(issuer)) => issuer.to_owned(),
            _ => fail_start(child, &stderr, &format!("unexpected ready line: {line:?}")),
        };

        let http = http_client(false);
        let mut idp = TestIdp {
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            jwks_uri: String::new(),
            issuer,
            child: Mutex::new(Some(child)),
            stderr,
            http,
        };

        let discovery = idp
            .get_json(&format!("{}/.well-known/openid-configuration", idp.issuer))
            .await;
        let field = |name: &str| -> String {
            discovery[name]
                .as_str()
                .unwrap_or_else(|| panic!("discovery has no {name}: {discovery}"))
                .to_owned()
        };
        assert_eq!(
            field("issuer"),
            idp.issuer,
            "discovery issuer differs from the ready line"
        );
        idp.authorization_endpoint = field("authorization_endpoint");
        idp.token_endpoint = field("token_endpoint");
        idp.jwks_uri = field("jwks_uri");
        Ok(idp)
    }

    /// `http://127.0.0.1:PORT`, the `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/jwks`, from discovery.
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    /// `{issuer}/token`, from discovery.
    pub fn token_endpoint(&self) -> &str {
        &self.token_endpoint
    }

    /// A client-credentials (app-only) access token: `sub == client_id == "app-client"`,
    /// `scope`, no `amr`.
    pub async fn app_token(&self) -> String {
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(APP_CLIENT_ID, Some(APP_CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", API_SCOPE)])
            .send()
            .await;
        let body = self.ok_json("client_credentials grant", response).await;
        self.string_field(&body, "access_token", "client_credentials grant")
    }

    /// A client-credentials token for [`MTLS_CLIENT_ID`], bound to the
    /// certificate `cert_pem` (`cnf.x5t#S256`), which the provider reads
    /// from [`TEST_CERTIFICATE_HEADER`] in place of a TLS handshake.
    pub async fn mtls_app_token(&self, cert_pem: &str) -> String {
        // Percent-encoding as decodeURIComponent reads it (a space is %20, not `+`).
        let encoded: String = cert_pem
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(MTLS_CLIENT_ID, Some(MTLS_CLIENT_SECRET))
            .header(TEST_CERTIFICATE_HEADER, encoded)
            .form(&[("grant_type", "client_credentials"), ("scope", API_SCOPE)])
            .send()
            .await;
        let body = self
            .ok_json("client_credentials grant (mTLS)", response)
            .await;
        self.string_field(&body, "access_token", "client_credentials grant (mTLS)")
    }

    /// The error code the token endpoint answers for [`MTLS_CLIENT_ID`]
    /// without a certificate (the provider refuses to issue an unbound token).
    pub async fn mtls_app_token_error(&self) -> String {
        let response = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(MTLS_CLIENT_ID, Some(MTLS_CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", API_SCOPE)])
            .send()
            .await
            .unwrap_or_else(|e| self.fail(&format!("token endpoint: {e}")));
        let body: Value = response.json().await.unwrap_or_default();
        body["error"].as_str().unwrap_or_default().to_owned()
    }

    /// Logs in [`USER`] headlessly (authorization code + PKCE): `amr` `["pwd","mfa"]` when
    /// `mfa`, else `["pwd"]`.
    pub async fn user_token(&self, mfa: bool) -> UserTokens {
        let hint = if mfa {
            format!("{USER}:mfa")
        } else {
            USER.to_owned()
        };
        self.user_token_for(&hint).await
    }

    /// Headless authorization code + PKCE login with a `login_hint` of `NAME` (amr `["pwd"]`)
    /// or `NAME:mfa` (amr `["pwd","mfa"]`); `sub` is `NAME`. Uses a fresh cookie jar, so every
    /// call is a fresh login.
    pub async fn user_token_for(&self, login_hint: &str) -> UserTokens {
        let verifier = random_b64url(32);
        let challenge = URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref(),
        );
        let state = random_b64url(16);

        let mut url = reqwest::Url::parse(&self.authorization_endpoint)
            .expect("authorization_endpoint is a URL");
        url.query_pairs_mut()
            .append_pair("client_id", WEB_CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", &format!("openid {API_SCOPE}"))
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", &state)
            .append_pair("login_hint", login_hint);

        // A fresh jar per login; redirects followed by hand so the final one (to the
        // never-listening redirect_uri) is read, not fetched.
        let browser = http_client(true);
        let mut code = None;
        for _ in 0..MAX_REDIRECTS {
            let response = browser
                .get(url.clone())
                .send()
                .await
                .unwrap_or_else(|e| self.fail(&format!("GET {url}: {e}")));
            let status = response.status();
            if !status.is_redirection() {
                let body = response.text().await.unwrap_or_default();
                self.fail(&format!(
                    "login: GET {url} answered {status}, not a redirect: {body}"
                ));
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| self.fail(&format!("login: {status} without Location")))
                .to_owned();
            let next = url
                .join(&location)
                .unwrap_or_else(|e| self.fail(&format!("login: bad Location {location:?}: {e}")));
            if is_redirect_uri(&next) {
                let param = |name: &str| {
                    next.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                };
                if let Some(error) = param("error") {
                    self.fail(&format!(
                        "login failed: {error}: {} ({next})",
                        param("error_description").unwrap_or_default()
                    ));
                }
                assert_eq!(
                    param("state").as_deref(),
                    Some(state.as_str()),
                    "state mismatch"
                );
                code = Some(
                    param("code")
                        .unwrap_or_else(|| self.fail(&format!("no code in redirect: {next}"))),
                );
                break;
            }
            url = next;
        }
        let code = code.unwrap_or_else(|| {
            self.fail(&format!(
                "login did not reach {REDIRECT_URI} in {MAX_REDIRECTS} redirects"
            ))
        });

        let response = self
            .http
            .post(&self.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", WEB_CLIENT_ID),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await;
        let body = self.ok_json("authorization_code grant", response).await;
        self.user_tokens(&body, "authorization_code grant")
    }

    /// The refresh-token grant. The new access token keeps `amr`/`acr`/`auth_time`; refresh
    /// tokens rotate, so use the returned `refresh_token` next time.
    pub async fn refresh(&self, refresh_token: &str) -> UserTokens {
        let response = self
            .http
            .post(&self.token_endpoint)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", WEB_CLIENT_ID),
            ])
            .send()
            .await;
        let body = self.ok_json("refresh_token grant", response).await;
        self.user_tokens(&body, "refresh_token grant")
    }

    /// Swaps in a freshly generated signing key, live. With `keep_old` the JWKS becomes
    /// `[new, ...old]`, else only `[new]`. New tokens are signed with the new key. Sessions,
    /// grants and refresh tokens survive. Returns the new `kid`.
    pub async fn rotate_keys(&self, keep_old: bool) -> String {
        let url = format!("{}/test/rotate?keep_old={keep_old}", self.issuer);
        let response = self.http.post(&url).send().await;
        let body = self.ok_json("key rotation", response).await;
        self.string_field(&body, "kid", "key rotation")
    }

    /// The `kid`s currently published at [`Self::jwks_uri`], in order.
    pub async fn jwks_kids(&self) -> Vec<String> {
        let jwks = self.get_json(&self.jwks_uri).await;
        jwks["keys"]
            .as_array()
            .unwrap_or_else(|| self.fail(&format!("JWKS without keys: {jwks}")))
            .iter()
            .map(|k| {
                k["kid"]
                    .as_str()
                    .unwrap_or_else(|| self.fail(&format!("JWK without kid: {k}")))
                    .to_owned()
            })
            .collect()
    }

    /// Kills the provider (to simulate the IdP being down). Its port then refuses connections.
    /// Idempotent; also done on drop.
    pub fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the provider process is still running.
    pub fn is_running(&self) -> bool {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The provider's stderr so far (the last 64 KiB).
    pub fn log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    // --- internals ------------------------------------------------------------------------------

    async fn get_json(&self, url: &str) -> Value {
        let response = self.http.get(url).send().await;
        self.ok_json(&format!("GET {url}"), response).await
    }

    async fn ok_json(
        &self,
        what: &str,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Value {
        let response = response.unwrap_or_else(|e| self.fail(&format!("{what}: {e}")));
        let status = response.status();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| self.fail(&format!("{what}: reading body: {e}")));
        if !status.is_success() {
            self.fail(&format!("{what}: HTTP {status}: {text}"));
        }
        serde_json::from_str(&text)
            .unwrap_or_else(|e| self.fail(&format!("{what}: body is not JSON ({e}): {text}")))
    }

    fn string_field(&self, body: &Value, name: &str, what: &str) -> String {
        body[name]
            .as_str()
            .unwrap_or_else(|| self.fail(&format!("{what}: no {name} in {body}")))
            .to_owned()
    }

    fn user_tokens(&self, body: &Value, what: &str) -> UserTokens {
        UserTokens {
            access_token: self.string_field(body, "access_token", what),
            refresh_token: self.string_field(body, "refresh_token", what),
            id_token: body["id_token"].as_str().map(str::to_owned),
        }
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "test IdP ({}): {why}\n--- provider stderr ---\n{}",
            self.issuer,
            self.log()
        )
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fail_start(mut child: Child, stderr: &Mutex<String>, why: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    let log = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
    panic!("the test IdP did not start: {why}\n--- provider stderr ---\n{log}")
}

fn forward_stderr(pipe: impl Read, sink: Arc<Mutex<String>>, live: bool) {
    let reader = BufReader::new(pipe);
    for line in reader.lines() {
        let Ok(line) = line else { break };
        if live {
            eprintln!("[idp] {line}");
        }
        let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
        log.push_str(&line);
        log.push('\n');
        if log.len() > STDERR_KEEP {
            let mut cut = log.len() - STDERR_KEEP / 2;
            while !log.is_char_boundary(cut) {
                cut += 1;
            }
            log.drain(..cut);
        }
    }
}

fn http_client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("building a reqwest client")
}

fn is_redirect_uri(url: &reqwest::Url) -> bool {
    let expected = reqwest::Url::parse(REDIRECT_URI).expect("REDIRECT_URI is a URL");
    url.scheme() == expected.scheme()
        && url.host_str() == expected.host_str()
        && url.port_or_known_default() == expected.port_or_known_default()
        && url.path() == expected.path()
}

fn random_b64url(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

// --- finding Node and installing the provider's packages -------------------------------------------

struct Prepared {
    node: PathBuf,
    dir: PathBuf,
}

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("idp")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Missing tooling: a panic under CI, an [`Unavailable`] elsewhere.
fn unavailable(why: String) -> Unavailable {
    if in_ci() {
        panic!(
            "{why}\nCI=true: the test OpenID Provider is required. Install Node.js and npm \
             (Debian/Ubuntu: apt-get install -y nodejs npm) in the CI setup."
        );
    }
    Unavailable(why)
}

fn prepare(dir: &Path) -> Result<Prepared, Unavailable> {
    let node = find_program("node").ok_or_else(|| unavailable("`node` is not on PATH".into()))?;
    if !installed(dir) {
        let npm = find_program("npm").ok_or_else(|| {
            unavailable(format!(
                "{} is missing and `npm` is not on PATH to install it",
                dir.join("node_modules").display()
            ))
        })?;
        install(&npm, dir)?;
    }
    Ok(Prepared {
        node,
        dir: dir.to_owned(),
    })
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// The pinned dependencies (`name`, exact version) from `tests/idp/package.json`.
fn pinned_dependencies(dir: &Path) -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(dir.join("package.json"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join("package.json").display()));
    let manifest: Value = serde_json::from_str(&manifest).expect("tests/idp/package.json is JSON");
    let dependencies = manifest["dependencies"]
        .as_object()
        .expect("tests/idp/package.json has dependencies");
    assert!(
        dependencies.contains_key("oidc-provider"),
        "tests/idp/package.json pins oidc-provider"
    );
    dependencies
        .iter()
        .map(|(name, version)| {
            let version = version
                .as_str()
                .unwrap_or_else(|| panic!("tests/idp/package.json: {name} has no version"));
            (name.clone(), version.to_owned())
        })
        .collect()
}

/// Whether `node_modules` holds every pinned package at its pinned version. A `node_modules`
/// only ever appears whole (see [`install`]); one from an older `package.json` is replaced.
fn installed(dir: &Path) -> bool {
    pinned_dependencies(dir).iter().all(|(name, pinned)| {
        let manifest = dir.join("node_modules").join(name).join("package.json");
        let Ok(text) = std::fs::read_to_string(manifest) else {
            return false;
        };
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["version"].as_str().map(str::to_owned))
            .is_some_and(|v| &v == pinned)
    })
}

/// `npm ci` into a private staging directory, then one atomic rename to `node_modules`. Safe
/// with several test binaries (or threads) starting at once: the first rename wins, the others
/// find `node_modules` in place and throw their copy away.
fn install(npm: &Path, dir: &Path) -> Result<(), Unavailable> {
    // Within one process, one install at a time.
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    if installed(dir) {
        return Ok(());
    }

    remove_stale_staging(dir);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let staging = dir.join(format!(".npm-ci-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .unwrap_or_else(|e| panic!("creating {}: {e}", staging.display()));
    let cleanup = RemoveOnDrop(staging.clone());
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(dir.join(file), staging.join(file))
            .unwrap_or_else(|e| panic!("copying tests/idp/{file}: {e}"));
    }

    eprintln!(
        "test IdP: running `npm ci` for {} (first run on this checkout)",
        dir.display()
    );
    let output = Command::new(npm)
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=warn",
        ])
        .current_dir(&staging)
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", npm.display()));
    if !output.status.success() {
        return Err(unavailable(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            staging.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }

    let target = dir.join("node_modules");
    match std::fs::rename(staging.join("node_modules"), &target) {
        Ok(()) => {}
        // Another process renamed its copy first.
        Err(_) if installed(dir) => {}
        Err(e) => panic!(
            "cannot move the installed packages to {}: {e}. If that directory is stale or \
             half-installed, delete it and run the tests again.",
            target.display()
        ),
    }
    drop(cleanup);
    Ok(())
}

/// Staging directories left by an interrupted run (older than ten minutes).
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(".npm-ci-") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
