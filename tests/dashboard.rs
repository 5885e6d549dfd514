//! The partner dashboard (`examples/partner_dashboard.rs`) in headless Chromium, signing in on
//! the real pages of the test OpenID Provider (tests/idp): a person's path through Partner Center's
//! examples, typed into the pages, with TOTP codes computed from the secret the page shows.
//!
//! - Jane (MFA registered) signs in with her password and a code, reaches the overview and
//!   opens Customers with no step-up.
//! - John (password only) reaches the overview and Support > Partner requests without MFA;
//!   opening Customers sends him to the provider, where he registers an authenticator app
//!   (secret shown as text and QR code), confirms with a code and lands on Customers.
//! - John's second visit asks for a code, not a registration.
//! - A tampered cookie lands on the sign-in page, not a 500; after sign-out, the back button
//!   shows no customer data; requests without `text/html` get the layer's 401 answers.
//!
//! Every step saves a screenshot under `target/screenshots/` (scripts/screenshots.sh copies
//! four to docs/img/). Chromium and chromedriver are installed with apt when missing (as root);
//! under `CI=true` the test never skips. Run alone, build the example first
//! (`cargo build --example partner_dashboard`); plain `cargo test` does.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/example.rs"]
mod example;
#[path = "support/idp.rs"]
mod idp;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use browser::{Driver, Session};
use example::Example;
use serde_json::json;

const CLIENT_ID: &str = "partner-dashboard";
const CLIENT_SECRET: &str = "partner-dashboard-secret";
/// Jane's authenticator secret: `JANE_TOTP_SECRET` in tests/idp/interaction.mjs.
const JANE_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const JANE_PASSWORD: &str = "jane-password";
const JOHN_PASSWORD: &str = "john-password";
/// A customer name that only the MFA pages show.
const CUSTOMER_NAME: &str = "Northwind Traders";

/// The current TOTP code (SHA-1, 6 digits, 30 s) for a base32 secret.
fn totp(secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .expect("a valid TOTP");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    totp.generate(now).to_string()
}

/// A code that is none of the previous, current and next steps' codes for `secret`.
fn wrong_code(secret: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("a base32 secret"))
        .build()
        .expect("a valid TOTP");
    let near: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.generate(*t).to_string())
        .collect();
    (0..4u32)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !near.contains(c))
        .expect("four candidates, three codes")
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("screenshots")
}

/// Screenshots, numbered in the order they are taken.
struct Shots {
    dir: PathBuf,
    next: usize,
}

impl Shots {
    async fn take(&mut self, browser: &Session<'_>, name: &str) {
        self.next += 1;
        browser
            .screenshot(&self.dir, &format!("{:02}-{name}", self.next))
            .await;
    }
}

/// The browser is on the provider's password form: checks it, fills it in, takes a
/// screenshot and signs in.
async fn sign_in(
    browser: &Session<'_>,
    shots: &mut Shots,
    shot: &str,
    issuer: &str,
    user: &str,
    password: &str,
) {
    browser.wait_title("Sign in").await;
    let url = browser.current_url().await;
    assert!(url.starts_with(issuer), "sign-in is at the provider: {url}");
    assert!(browser.has("input#password[type=password]").await);
    browser.type_into("#username", user).await;
    browser.type_into("#password", password).await;
    shots.take(browser, shot).await;
    browser.click("#submit").await;
}

/// Types the current code for `secret`, takes a screenshot and submits it.
async fn enter_code(browser: &Session<'_>, shots: &mut Shots, shot: &str, secret: &str) {
    browser.type_into("#code", &totp(secret)).await;
    shots.take(browser, shot).await;
    // The code of this very moment (the screenshot may have crossed a 30 s step; the previous
    // step's code would be accepted too).
    browser.type_into("#code", &totp(secret)).await;
    browser.click("#submit").await;
}

/// Checks the dashboard page: path, title, user and `amr` in the header.
async fn expect_page(browser: &Session<'_>, base: &str, path: &str, title: &str, user: &str) {
    browser.wait_title(title).await;
    let url = browser.current_url().await;
    assert!(url.starts_with(base), "{url} is not the dashboard's");
    assert_eq!(browser.path().await, path, "{url}");
    assert_eq!(browser.text("user").await.as_deref(), Some(user), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_dashboard_in_headless_chromium() {
    let started = Instant::now();
    if !browser::available().await {
        return;
    }
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let issuer = idp.issuer().to_owned();
    let dashboard = Example::start(
        "partner_dashboard",
        &issuer,
        (CLIENT_ID, CLIENT_SECRET),
        &[],
    );
    let base = dashboard.base.clone();
    let driver = Driver::start().await;
    let dir = screenshots();
    let _ = std::fs::remove_dir_all(&dir);
    let mut shots = Shots { dir, next: 0 };

    // --- Example 1: Jane has MFA registered ---------------------------------------------------
    let jane = driver.session().await;
    jane.goto(&format!("{base}/dashboard")).await;
    sign_in(
        &jane,
        &mut shots,
        "jane-sign-in",
        &issuer,
        "jane",
        JANE_PASSWORD,
    )
    .await;
    // MFA at sign-in: a prompt for the current code, no registration.
    jane.wait_title("Enter code").await;
    assert!(!jane.has("#secret").await, "Jane registers nothing");
    assert!(!jane.has("#qr").await, "Jane registers nothing");
    assert!(!jane.has("#password").await);
    assert_eq!(jane.text("account").await.as_deref(), Some("jane"));
    enter_code(&jane, &mut shots, "jane-mfa-prompt", JANE_TOTP_SECRET).await;
    expect_page(&jane, &base, "/dashboard", "Overview", "jane").await;
    assert_eq!(jane.text("amr").await.as_deref(), Some("pwd mfa"));
    assert_eq!(
        jane.text("mfa-status").await.as_deref(),
        Some("Multi-factor authentication completed")
    );
    shots.take(&jane, "jane-overview").await;
    // Customers straight away: no step-up.
    jane.click("#nav-customers").await;
    expect_page(&jane, &base, "/dashboard/customers", "Customers", "jane").await;
    assert!(jane.body_text().await.contains(CUSTOMER_NAME));
    assert_eq!(dashboard.step_ups(), 0, "Jane did MFA at sign-in");
    shots.take(&jane, "jane-customers").await;
    jane.click("a[href='/dashboard/customers/northwind-traders']")
        .await;
    expect_page(
        &jane,
        &base,
        "/dashboard/customers/northwind-traders",
        CUSTOMER_NAME,
        "jane",
    )
    .await;
    assert!(jane.has("#subscriptions tbody tr").await);
    shots.take(&jane, "jane-customer").await;
    jane.click("#nav-customer-requests").await;
    expect_page(
        &jane,
        &base,
        "/dashboard/support/customer-requests",
        "Customer requests",
        "jane",
    )
    .await;
    assert_eq!(dashboard.step_ups(), 0, "Jane did MFA at sign-in");
    shots.take(&jane, "jane-customer-requests").await;

    // An unknown page: a 404 page in the layout, not an empty answer.
    jane.goto(&format!("{base}/dashboard/no-such-page")).await;
    jane.wait_title("Page not found").await;
    assert_eq!(jane.text("user").await.as_deref(), Some("jane"));
    shots.take(&jane, "not-found").await;

    // Sign-out, then the back button: no customer data, the sign-in page instead.
    jane.goto(&format!("{base}/dashboard/customers/northwind-traders"))
        .await;
    jane.wait_title(CUSTOMER_NAME).await;
    jane.click("#sign-out").await;
    jane.wait_title("Signed out").await;
    assert_eq!(jane.cookie_value("tmfa_at").await, None);
    shots.take(&jane, "signed-out").await;
    jane.back().await;
    jane.wait_title("Sign in").await;
    assert!(
        jane.current_url().await.starts_with(&issuer),
        "back after sign-out goes to sign in"
    );
    let text = jane.body_text().await;
    assert!(
        !text.contains(CUSTOMER_NAME),
        "customer data after sign-out: {text}"
    );
    assert!(!jane.page().await.contains("Subscriptions"));
    shots.take(&jane, "back-after-sign-out").await;
    jane.close().await;

    // --- Example 3: John has no MFA ---------------------------------------------------------------
    let john = driver.session().await;
    john.goto(&format!("{base}/dashboard")).await;
    sign_in(
        &john,
        &mut shots,
        "john-sign-in",
        &issuer,
        "john",
        JOHN_PASSWORD,
    )
    .await;
    // Password only: straight to the overview.
    expect_page(&john, &base, "/dashboard", "Overview", "john").await;
    assert_eq!(john.text("amr").await.as_deref(), Some("pwd"));
    assert_eq!(
        john.text("mfa-status").await.as_deref(),
        Some("Signed in with a password only")
    );
    shots.take(&john, "john-overview").await;
    let password_only = john
        .cookie_value("tmfa_at")
        .await
        .expect("John's token cookie");
    let (_, claims) = idp::decode_jwt(&password_only);
    assert_eq!(claims["amr"], json!(["pwd"]));

    // Support > Partner requests never asks for MFA.
    john.click("#nav-partner-requests").await;
    expect_page(
        &john,
        &base,
        "/dashboard/support/partner-requests",
        "Partner requests",
        "john",
    )
    .await;
    assert_eq!(dashboard.step_ups(), 0, "Partner requests need no MFA");
    shots.take(&john, "john-partner-requests").await;

    // API clients (no text/html in Accept) get the layer's 401 answers, never a redirect.
    api_answers(&base, &password_only).await;

    // Customers: step-up, MFA registration at the provider, back on Customers.
    john.click("#nav-customers").await;
    john.wait_title("Set up your authenticator app").await;
    assert!(john.current_url().await.starts_with(&issuer));
    assert_eq!(dashboard.step_ups(), 1, "one step-up");
    assert!(john.has("#qr svg").await, "a QR code");
    assert_eq!(john.text("account").await.as_deref(), Some("john"));
    assert!(
        !john.has("#password").await,
        "the step-up asks for no password"
    );
    let secret = john.text("secret").await.expect("the secret as text");
    assert!(
        secret.len() >= 26 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "{secret:?}"
    );
    assert_ne!(secret, JANE_TOTP_SECRET);
    enter_code(&john, &mut shots, "john-mfa-registration", &secret).await;
    expect_page(&john, &base, "/dashboard/customers", "Customers", "john").await;
    assert_eq!(john.text("amr").await.as_deref(), Some("pwd mfa"));
    assert!(john.body_text().await.contains(CUSTOMER_NAME));
    shots.take(&john, "john-customers").await;
    john.close().await;

    // --- John's second visit: a prompt, no registration -----------------------------------------
    let john = driver.session().await;
    john.goto(&format!("{base}/dashboard/customers")).await;
    sign_in(
        &john,
        &mut shots,
        "john-second-visit-sign-in",
        &issuer,
        "john",
        JOHN_PASSWORD,
    )
    .await;
    john.wait_title("Enter code").await;
    assert!(!john.has("#secret").await, "registered once only");
    assert!(!john.has("#qr").await, "registered once only");
    enter_code(&john, &mut shots, "john-second-visit-mfa-prompt", &secret).await;
    expect_page(&john, &base, "/dashboard/customers", "Customers", "john").await;
    assert_eq!(john.text("amr").await.as_deref(), Some("pwd mfa"));
    assert_eq!(dashboard.step_ups(), 1, "MFA at sign-in: no step-up");
    shots.take(&john, "john-second-visit-customers").await;

    // A tampered cookie: the sign-in page, not a 500.
    let token = john.cookie_value("tmfa_at").await.expect("token cookie");
    john.set_cookie("tmfa_at", &tamper(&token)).await;
    john.goto(&format!("{base}/dashboard/customers")).await;
    john.wait_title("Sign in").await;
    assert!(john.current_url().await.starts_with(&issuer));
    assert!(!john.body_text().await.contains(CUSTOMER_NAME));
    shots.take(&john, "tampered-cookie").await;
    john.close().await;

    // --- A wrong code is refused on the same page -----------------------------------------------
    let again = driver.session().await;
    again.goto(&format!("{base}/dashboard/customers")).await;
    sign_in(
        &again,
        &mut shots,
        "jane-again-sign-in",
        &issuer,
        "jane",
        JANE_PASSWORD,
    )
    .await;
    again.wait_title("Enter code").await;
    // A wrong code (neither the previous, the current nor the next step's) is refused on the
    // same page.
    assert!(!again.has("#error").await);
    again
        .type_into("#code", &wrong_code(JANE_TOTP_SECRET))
        .await;
    again.click("#submit").await;
    again.wait_for("#error").await;
    assert_eq!(again.text("title").await.as_deref(), Some("Enter code"));
    assert!(again.current_url().await.starts_with(&issuer));
    shots.take(&again, "wrong-code").await;
    again.type_into("#code", &totp(JANE_TOTP_SECRET)).await;
    again.click("#submit").await;
    expect_page(&again, &base, "/dashboard/customers", "Customers", "jane").await;
    again.close().await;

    drop(driver);
    drop(dashboard);
    idp.stop();
    eprintln!("dashboard browser test took {:?}", started.elapsed());
}

/// The token with one character of its signature changed.
fn tamper(token: &str) -> String {
    let cut = token.len() - 20;
    let mut bytes = token.as_bytes().to_vec();
    bytes[cut] = if bytes[cut] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

/// Requests without `text/html` in `Accept`: the layer's answers, never a redirect.
async fn api_answers(base: &str, password_only: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str, token: Option<&str>, accept: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.header("cookie", format!("tmfa_at={token}"));
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request.send()
    };
    for path in [
        "/dashboard/customers",
        "/dashboard/customers/northwind-traders",
        "/dashboard/support/customer-requests",
    ] {
        // Without MFA: Partner Center's answer.
        for accept in [Some("application/json"), None, Some("*/*")] {
            let response = get(path, Some(password_only), accept).await.unwrap();
            assert_eq!(response.status(), 401, "{path} {accept:?}");
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer error=\"invalid_token\""),
                "{path} {accept:?}"
            );
            let body = response.text().await.unwrap();
            assert!(!body.contains(CUSTOMER_NAME), "{path} {accept:?}: {body}");
        }
        // A tampered token: 401 invalid_token, not a 500.
        let response = get(path, Some(&tamper(password_only)), Some("application/json"))
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path} tampered");
        // No token at all: 401, no redirect.
        let response = get(path, None, Some("application/json")).await.unwrap();
        assert_eq!(response.status(), 401, "{path} anonymous");
        assert!(response.headers().get("location").is_none());
    }
    // Pages that need only a sign-in answer the same token, with no-store.
    for path in ["/dashboard", "/dashboard/support/partner-requests"] {
        let response = get(path, Some(password_only), Some("text/html"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
        let response = get(path, None, Some("application/json")).await.unwrap();
        assert_eq!(response.status(), 401, "{path} anonymous API request");
    }
    // A browser without MFA is sent to step-up instead.
    let response = get(
        "/dashboard/customers",
        Some(password_only),
        Some("text/html,application/xhtml+xml"),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/step-up?return_to=%2Fdashboard%2Fcustomers")
    );
}
