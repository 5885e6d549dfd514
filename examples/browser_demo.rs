//! Partner Center's MFA scenarios in a browser: interactive sign-in (authorization
//! code + PKCE, never the password grant) and MFA step-up with `RequireMfaLayer`.
//!
//! ```sh
//! TOWER_MFA_ISSUER=https://login.microsoftonline.com/<tenant>/v2.0 \
//! TOWER_MFA_AUDIENCE=<api app id uri or client id> \
//! TOWER_MFA_CLIENT_ID=<client id> TOWER_MFA_CLIENT_SECRET=<secret> \
//! TOWER_MFA_SCOPES="openid profile <api>/customers.read" \
//! cargo run --example browser_demo
//! ```
//!
//! See docs/BROWSER.md for every setting and how to run it against the test
//! OpenID Provider (tests/idp/server.mjs).
//!
//! Routes:
//! - `/`: a sign-in page showing who is signed in (optional sign-in).
//! - `/login?return_to=/path[&login_hint=..]`: starts an authorization request.
//! - `/step-up?return_to=/path`: the layer's step-up URL; starts an
//!   authorization request that asks for MFA (`prompt=login`, plus
//!   `login_hint=<user><suffix>`, `acr_values` or `claims` as configured).
//! - `/callback`: the redirect URI. Checks `state` (and that it belongs to this
//!   browser), exchanges the code with the PKCE verifier, verifies the ID
//!   token and its nonce, stores the access token in an HttpOnly, SameSite=Lax
//!   cookie and redirects to the local `return_to` path.
//! - `/dashboard`: overview, sign-in only.
//! - `/dashboard/customers/**`: MFA.
//! - `/logout`: drops the cookie.
//!
//! A browser without a valid token is sent to `/login`; one without MFA on
//! an `mfa` route gets the layer's `303` to `/step-up`. API clients (no
//! `text/html` in `Accept`) get the layer's 401 answers unchanged.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_mfa::{Claims, Rule};

#[path = "support/sign_in/mod.rs"]
mod sign_in;
#[path = "support/web.rs"]
mod web;

use sign_in::{Ask, CallbackQuery, SignIn};
use web::{env, is_browser, local_path, path_of, required, to_login, user_of};

/// How the step-up request asks the provider for MFA.
struct StepUp {
    /// Appended to the user's name in `login_hint` (the test IdP: `:mfa`).
    hint_suffix: Option<String>,
    /// `acr_values` (e.g. an Entra authentication context is asked with `claims`).
    acr_values: Vec<String>,
    /// A `claims` request parameter (JSON), e.g. Entra's
    /// `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`.
    claims: Option<String>,
}

struct App {
    sign_in: SignIn,
    step_up: StepUp,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    web::init_tracing("tower_mfa=info,browser_demo=info");

    let issuer = required("TOWER_MFA_ISSUER")?;
    let audience = required("TOWER_MFA_AUDIENCE")?;
    let client_id = required("TOWER_MFA_CLIENT_ID")?;
    let client_secret = env("TOWER_MFA_CLIENT_SECRET");
    // `openid` is always requested by the OIDC client: drop it here so that
    // it is not sent twice (`scope=openid openid ...`).
    let scopes: Vec<String> = env("TOWER_MFA_SCOPES")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| *s != "openid")
        .map(str::to_owned)
        .collect();
    let step_up = StepUp {
        hint_suffix: env("TOWER_MFA_STEP_UP_HINT_SUFFIX"),
        acr_values: env("TOWER_MFA_STEP_UP_ACR_VALUES")
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        claims: env("TOWER_MFA_STEP_UP_CLAIMS"),
    };

    let (listener, base, redirect_uri) = web::listen().await?;
    let sign_in =
        SignIn::discover(&issuer, client_id, client_secret, &redirect_uri, scopes).await?;

    // The guard: the same issuer's keys (discovery), the token from the cookie,
    // browsers without MFA sent to /step-up.
    let mfa = sign_in::guard(&issuer, audience)
        // Optional: the home page shows who is signed in, when someone is.
        .rule(Rule::optional("/"))
        .rule(Rule::public("/healthz"))
        .rule(Rule::public("/login"))
        .rule(Rule::public("/callback"))
        .rule(Rule::public("/logout"))
        .rule(Rule::optional("/step-up"))
        .rule(Rule::mfa("/dashboard/customers/**"))
        .rule(Rule::authenticated("/dashboard"))
        .build()?;

    let app = Arc::new(App { sign_in, step_up });

    let router = web::traced(
        Router::new()
            .route("/", get(home))
            .route("/healthz", get(|| async { "ok" }))
            .route("/login", get(login))
            .route("/step-up", get(step_up_start))
            .route("/callback", get(callback))
            .route("/logout", get(logout))
            .route("/dashboard", get(dashboard))
            .route("/dashboard/customers", get(customers))
            .route("/dashboard/customers/{*rest}", get(customers))
            .with_state(app)
            .layer(mfa)
            .layer(middleware::from_fn(sign_in_browsers)),
    );

    // One line on stdout, read by tests/browser.rs.
    println!(
        "tower-mfa browser demo listening on {base} (issuer {issuer}, redirect {redirect_uri})"
    );
    axum::serve(listener, router).await?;
    Ok(())
}

// --- pages ------------------------------------------------------------------------------------

async fn home(claims: Option<Claims>) -> Html<String> {
    let who = claims
        .as_ref()
        .map(|c| {
            format!(
                "<p>Signed in as <b id=\"user\">{}</b>.</p>",
                esc(user_of(c))
            )
        })
        .unwrap_or_default();
    page(
        "tower-mfa browser demo",
        &format!(
            "{who}<ul>\
             <li><a href=\"/login?return_to=%2Fdashboard\">Sign in</a></li>\
             <li><a href=\"/dashboard\">Dashboard</a> (sign-in)</li>\
             <li><a href=\"/dashboard/customers\">Customers</a> (MFA)</li>\
             <li><a href=\"/logout\">Sign out</a></li></ul>"
        ),
    )
}

async fn dashboard(claims: Claims) -> Html<String> {
    page(
        "Dashboard",
        &format!(
            "{}<p><a href=\"/dashboard/customers\">Customers</a> (needs MFA)</p>",
            who(&claims)
        ),
    )
}

async fn customers(claims: Claims) -> Html<String> {
    page(
        "Customers",
        &format!(
            "{}<p id=\"customers\">Contoso, Fabrikam, Northwind.</p>",
            who(&claims)
        ),
    )
}

fn who(claims: &Claims) -> String {
    format!(
        "<p>User: <b id=\"user\">{}</b></p><p>amr: <b id=\"amr\">{}</b></p>",
        esc(user_of(claims)),
        esc(&claims.amr().join(" ")),
    )
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1 id=\"title\">{t}</h1>{body}</body></html>",
        t = esc(title)
    ))
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// --- sign-in ----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    login_hint: Option<String>,
}

async fn login(State(app): State<Arc<App>>, Query(q): Query<LoginQuery>) -> Response {
    let return_to = local_path(q.return_to.as_deref());
    app.start(return_to, q.login_hint, false)
}

#[derive(Deserialize)]
struct StepUpQuery {
    return_to: Option<String>,
}

async fn step_up_start(
    State(app): State<Arc<App>>,
    claims: Option<Claims>,
    Query(q): Query<StepUpQuery>,
) -> Response {
    let return_to = local_path(q.return_to.as_deref());
    let hint = claims.as_ref().map(|c| {
        let user = user_of(c);
        match &app.step_up.hint_suffix {
            Some(suffix) => format!("{user}{suffix}"),
            None => user.to_owned(),
        }
    });
    // Read by tests/browser.rs.
    println!("step-up: return_to={return_to}");
    app.start(return_to, hint, true)
}

impl App {
    /// Starts an authorization request; a step-up asks for a fresh sign-in
    /// with MFA.
    fn start(&self, return_to: String, login_hint: Option<String>, step_up: bool) -> Response {
        let ask = if step_up {
            Ask {
                prompt_login: true,
                acr_values: &self.step_up.acr_values,
                claims: self.step_up.claims.as_deref(),
            }
        } else {
            Ask::default()
        };
        self.sign_in
            .start(return_to, login_hint, ask)
            .unwrap_or_else(|_| {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many sign-ins in progress",
                )
                    .into_response()
            })
    }
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    match app.sign_in.finish(&headers, q).await {
        Ok(response) => response,
        Err(e) => {
            let why = e.detail();
            tracing::warn!(target: "browser_demo", "sign-in failed: {why}");
            (
                e.status(),
                page(
                    "Sign-in failed",
                    &format!(
                        "<p id=\"error\">{}</p><p><a href=\"/\">Start over</a></p>",
                        esc(&why)
                    ),
                ),
            )
                .into_response()
        }
    }
}

async fn logout(State(app): State<Arc<App>>) -> Response {
    app.sign_in.sign_out("/")
}

/// A browser without a valid token (the layer's 401) goes to sign in. API
/// clients, and every other answer, pass unchanged.
async fn sign_in_browsers(request: Request, next: Next) -> Response {
    let browser = is_browser(&request);
    let path = path_of(&request);
    let response = next.run(request).await;
    if browser && response.status() == StatusCode::UNAUTHORIZED {
        return to_login(&path);
    }
    response
}
