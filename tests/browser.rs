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

#[path = "support/browser.rs"]
mod browser;
#[path = "support/example.rs"]
mod example;
#[path = "support/idp.rs"]
mod idp;

use std::time::Instant;

use browser::{Driver, Session};
use example::Example;
use serde_json::json;

const DEMO_CLIENT_ID: &str = "browser-demo";
const DEMO_CLIENT_SECRET: &str = "browser-demo-secret";

/// Navigates, then checks the final page's path, title and `amr`.
async fn expect(browser: &Session<'_>, url: &str, path: &str, title: &str) -> String {
    browser.goto(url).await;
    let current = browser.current_url().await;
    let page = browser.page().await;
    let parsed = reqwest::Url::parse(&current).expect("current URL");
    assert_eq!(
        parsed.path(),
        path,
        "{url} ended on {current}, not {path}: {page}"
    );
    assert_eq!(
        browser.text("title").await.as_deref(),
        Some(title),
        "{url}: {page}"
    );
    assert_eq!(
        browser.text("user").await.as_deref(),
        Some(idp::USER),
        "{url}: {page}"
    );
    browser.text("amr").await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_1_to_3_in_headless_chromium() {
    let started = Instant::now();
    if !browser::available().await {
        return;
    }
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let demo = Example::start(
        "browser_demo",
        idp.issuer(),
        (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        &[("TOWER_MFA_STEP_UP_HINT_SUFFIX", ":mfa")],
    );
    let base = demo.base.clone();
    let driver = Driver::start().await;

    // Example 1: MFA at sign-in, then straight to the customers page. The
    // `return_to` given here is another site's: the demo ignores it.
    let browser = driver.session().await;
    let amr = expect(
        &browser,
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
    let amr = expect(
        &browser,
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
    let amr = expect(
        &browser,
        &format!("{base}/dashboard"),
        "/dashboard",
        "Dashboard",
    )
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
    let amr = expect(&browser, &customers, "/dashboard/customers", "Customers").await;
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
