//! A partner dashboard guarded by `RequireMfaLayer`: server-rendered pages
//! (minijinja templates, one layout and navigation), interactive sign-in
//! (authorization code + PKCE) and MFA step-up on the pages that show
//! customer data.
//!
//! ```sh
//! ./scripts/dashboard.sh    # with the test OpenID Provider, see docs/DASHBOARD.md
//! ```
//!
//! or against any OpenID Provider:
//!
//! ```sh
//! TOWER_MFA_ISSUER=https://login.microsoftonline.com/<tenant>/v2.0 \
//! TOWER_MFA_AUDIENCE=<api app id uri or client id> \
//! TOWER_MFA_CLIENT_ID=<client id> TOWER_MFA_CLIENT_SECRET=<secret> \
//! TOWER_MFA_SCOPES="openid profile <api>/customers.read" \
//! TOWER_MFA_STEP_UP_CLAIMS='{"access_token":{"acrs":{"essential":true,"value":"c1"}}}' \
//! cargo run --example partner_dashboard
//! ```
//!
//! Pages and what they need:
//! - `/dashboard`: the overview, sign-in only.
//! - `/dashboard/customers` and `/dashboard/customers/{id}`: MFA.
//! - `/dashboard/support/customer-requests/**`: MFA.
//! - `/dashboard/support/partner-requests`: sign-in only.
//! - `/login`, `/step-up`, `/callback`, `POST /logout`, `/signed-out`, `/static/**`: public
//!   (the step-up reads a token when there is one).
//!
//! A browser (`Accept` lists `text/html`) without a valid token is sent to sign
//! in, and one without MFA on an MFA page to `/step-up`; any other refusal is
//! shown as an error page. Requests without `text/html` in `Accept` get the
//! layer's 401 answers unchanged, never a redirect. Every page is sent with
//! `Cache-Control: no-store`, so the back button after sign-out shows no
//! customer data. Unknown paths get a 404 page.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl,
    LoginHint, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tower_mfa::{Claims, RequireMfaLayer, Rule};

/// The cookie that carries the access token; `RequireMfaLayer` reads it.
const TOKEN_COOKIE: &str = "tmfa_at";
/// Binds an authorization request to the browser that started it.
const FLOW_COOKIE: &str = "tmfa_flow";
/// How long an authorization request may take.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// Most pending authorization requests kept at once.
const MAX_FLOWS: usize = 10_000;
/// The `acr` the step-up asks for unless `TOWER_MFA_STEP_UP_ACR_VALUES` says otherwise.
const DEFAULT_STEP_UP_ACR: &str = "urn:tower-mfa:acr:mfa";

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the callback needs to finish one authorization request.
struct Flow {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    return_to: String,
    started: Instant,
}

struct App {
    client: OidcClient,
    http: OidcHttp,
    scopes: Vec<String>,
    /// `acr_values` of the step-up request.
    step_up_acr: Vec<String>,
    /// A `claims` request parameter (JSON) for the step-up request.
    step_up_claims: Option<String>,
    secure_cookies: bool,
    flows: Mutex<HashMap<String, Flow>>,
    pages: Environment<'static>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_mfa=info,partner_dashboard=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let required = |name: &str| env(name).ok_or_else(|| format!("{name} is required"));

    let issuer = required("TOWER_MFA_ISSUER")?;
    let audience = required("TOWER_MFA_AUDIENCE")?;
    let client_id = required("TOWER_MFA_CLIENT_ID")?;
    let client_secret = env("TOWER_MFA_CLIENT_SECRET");
    let scopes: Vec<String> = env("TOWER_MFA_SCOPES")
        .unwrap_or_else(|| "openid".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let step_up_claims = env("TOWER_MFA_STEP_UP_CLAIMS");
    let step_up_acr = env("TOWER_MFA_STEP_UP_ACR_VALUES")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| {
            if step_up_claims.is_some() {
                Vec::new()
            } else {
                vec![DEFAULT_STEP_UP_ACR.to_owned()]
            }
        });

    let addr: SocketAddr = env("TOWER_MFA_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let redirect_uri = env("TOWER_MFA_REDIRECT_URI").unwrap_or_else(|| format!("{base}/callback"));

    // The OIDC client: discovery (and the provider's keys, for ID tokens).
    // Its HTTP client follows no redirects (SSRF).
    let http = OidcHttp(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?,
    );
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone())?, &http)
        .await
        .map_err(|e| format!("OIDC discovery at {issuer}: {e}"))?;
    let client: OidcClient = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        client_secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.clone())?);

    // The guard. The first matching rule wins.
    let mfa = RequireMfaLayer::builder()
        .issuer(issuer.clone())
        .audience(audience)
        .discover_from_issuer()
        .allow_http_loopback(true)
        .token_cookie(TOKEN_COOKIE)
        .step_up_url("/step-up")
        .rule(Rule::public("/"))
        .rule(Rule::public("/healthz"))
        .rule(Rule::public("/static/**"))
        .rule(Rule::public("/login"))
        .rule(Rule::public("/callback"))
        .rule(Rule::public("/logout"))
        .rule(Rule::public("/signed-out"))
        .rule(Rule::optional("/step-up"))
        .rule(Rule::mfa("/dashboard/customers/**"))
        .rule(Rule::mfa("/dashboard/support/customer-requests/**"))
        .rule(Rule::authenticated("/dashboard/support/partner-requests"))
        .rule(Rule::authenticated("/dashboard/**"))
        // Anything else is a 404 page, with the user in the header when known.
        .rule(Rule::optional("/**"))
        .build()?;

    let app = Arc::new(App {
        client,
        http,
        scopes,
        step_up_acr,
        step_up_claims,
        secure_cookies: redirect_uri.starts_with("https://"),
        flows: Mutex::new(HashMap::new()),
        pages: templates()?,
    });

    let router = Router::new()
        .route("/", get(|| async { see_other("/dashboard", None) }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/dashboard.css", get(stylesheet))
        .route("/login", get(login))
        .route("/step-up", get(step_up_start))
        .route("/callback", get(callback))
        .route("/logout", post(logout))
        .route("/signed-out", get(signed_out))
        .route("/dashboard", get(overview))
        .route("/dashboard/customers", get(customers))
        .route("/dashboard/customers/{id}", get(customer))
        .route(
            "/dashboard/support",
            get(|| async { see_other("/dashboard/support/partner-requests", None) }),
        )
        .route(
            "/dashboard/support/customer-requests",
            get(customer_requests),
        )
        .route("/dashboard/support/partner-requests", get(partner_requests))
        .fallback(not_found)
        .with_state(Arc::clone(&app))
        .layer(mfa)
        .layer(middleware::from_fn_with_state(app, browser_answers))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("set-cookie"),
        ]));

    // One line on stdout, read by tests/dashboard.rs and scripts/dashboard.sh.
    println!("partner dashboard listening on {base} (issuer {issuer}, redirect {redirect_uri})");
    axum::serve(listener, router).await?;
    Ok(())
}

#[path = "support/dashboard/data.rs"]
mod data;

use data::{CUSTOMER_REQUESTS, CUSTOMERS, PARTNER_REQUESTS};

// --- templates ------------------------------------------------------------------------------------

fn templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // `.html` names: every value is HTML-escaped.
    env.add_template("layout.html", include_str!("support/dashboard/layout.html"))?;
    env.add_template(
        "overview.html",
        include_str!("support/dashboard/overview.html"),
    )?;
    env.add_template(
        "customers.html",
        include_str!("support/dashboard/customers.html"),
    )?;
    env.add_template(
        "customer.html",
        include_str!("support/dashboard/customer.html"),
    )?;
    env.add_template(
        "requests.html",
        include_str!("support/dashboard/requests.html"),
    )?;
    env.add_template("error.html", include_str!("support/dashboard/error.html"))?;
    env.add_template(
        "signed_out.html",
        include_str!("support/dashboard/signed_out.html"),
    )?;
    Ok(env)
}

/// The signed-in user as the header shows them.
#[derive(Serialize)]
struct User {
    name: String,
    initial: String,
    amr: String,
    mfa: bool,
    methods: Vec<Method>,
}

/// One sign-in method from `amr`.
#[derive(Serialize)]
struct Method {
    amr: String,
    label: String,
    mfa: bool,
}

impl User {
    fn from_claims(claims: &Claims) -> User {
        let name = user_of(claims).to_owned();
        let methods = claims
            .amr()
            .iter()
            .map(|amr| {
                let (label, mfa) = match amr.as_str() {
                    "pwd" => ("Password", false),
                    "mfa" => ("MFA", true),
                    "otp" => ("One-time code", true),
                    "ngcmfa" => ("Windows Hello (MFA)", true),
                    "fido" | "hwk" => ("Security key", true),
                    "rsa" => ("Certificate", false),
                    other => (other, false),
                };
                Method {
                    amr: amr.clone(),
                    label: label.to_owned(),
                    mfa,
                }
            })
            .collect();
        User {
            initial: name.chars().next().map(String::from).unwrap_or_default(),
            amr: claims.amr().join(" "),
            mfa: claims.amr().iter().any(|a| a == "mfa"),
            methods,
            name,
        }
    }
}

/// A name for the user: `preferred_username` (Entra v2), `upn` (v1), else `sub`.
fn user_of(claims: &Claims) -> &str {
    claims
        .get("preferred_username")
        .and_then(|v| v.as_str())
        .or_else(|| claims.upn())
        .or_else(|| claims.subject())
        .unwrap_or("?")
}

#[derive(Serialize)]
struct Crumb {
    href: &'static str,
    label: &'static str,
}

impl App {
    /// Renders a page of the layout. A template error is a plain 500, logged
    /// without the page's data.
    fn render(&self, status: StatusCode, name: &str, page: Value) -> Response {
        let rendered = self.pages.get_template(name).and_then(|t| t.render(page));
        match rendered {
            Ok(html) => (status, no_store(), Html(html)).into_response(),
            Err(e) => {
                tracing::error!(target: "partner_dashboard", "template {name}: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    no_store(),
                    "the page could not be shown",
                )
                    .into_response()
            }
        }
    }

    fn error_page(&self, status: StatusCode, claims: Option<&Claims>, message: &str) -> Response {
        let title = match status {
            StatusCode::NOT_FOUND => "Page not found",
            StatusCode::FORBIDDEN => "Access denied",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            s if s.is_server_error() => "Something went wrong",
            _ => "Sign-in failed",
        };
        self.render(
            status,
            "error.html",
            context! {
                title,
                status => status.as_u16(),
                message,
                user => Serde(claims.map(User::from_claims)),
            },
        )
    }
}

fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

// --- pages ----------------------------------------------------------------------------------------

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("support/dashboard/dashboard.css"),
    )
        .into_response()
}

async fn overview(State(app): State<Arc<App>>, claims: Claims) -> Response {
    let open = CUSTOMER_REQUESTS
        .iter()
        .filter(|r| r.status != "Resolved")
        .count();
    app.render(
        StatusCode::OK,
        "overview.html",
        context! {
            title => "Overview",
            nav => "overview",
            user => Serde(User::from_claims(&claims)),
            customers => CUSTOMERS.iter().filter(|c| c.status == "Active").count(),
            open_requests => open,
            partner_requests => PARTNER_REQUESTS.len(),
        },
    )
}

async fn customers(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "customers.html",
        context! {
            title => "Customers",
            nav => "customers",
            user => Serde(User::from_claims(&claims)),
            customers => Serde(CUSTOMERS),
        },
    )
}

async fn customer(State(app): State<Arc<App>>, claims: Claims, Path(id): Path<String>) -> Response {
    let Some(customer) = CUSTOMERS.iter().find(|c| c.id == id) else {
        return app.error_page(
            StatusCode::NOT_FOUND,
            Some(&claims),
            "There is no customer with this address.",
        );
    };
    app.render(
        StatusCode::OK,
        "customer.html",
        context! {
            title => customer.name,
            nav => "customers",
            crumbs => Serde([Crumb { href: "/dashboard/customers", label: "Customers" }]),
            user => Serde(User::from_claims(&claims)),
            customer => Serde(customer),
        },
    )
}

async fn customer_requests(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "requests.html",
        context! {
            title => "Customer requests",
            nav => "customer-requests",
            crumbs => Serde([Crumb { href: "/dashboard/support/partner-requests", label: "Support" }]),
            lead => "Service requests you opened on behalf of your customers.",
            who_heading => "Customer",
            user => Serde(User::from_claims(&claims)),
            requests => Serde(CUSTOMER_REQUESTS),
        },
    )
}

async fn partner_requests(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "requests.html",
        context! {
            title => "Partner requests",
            nav => "partner-requests",
            crumbs => Serde([Crumb { href: "/dashboard/support/partner-requests", label: "Support" }]),
            lead => "Your own requests with partner support: no customer data, so no MFA needed.",
            who_heading => "With",
            user => Serde(User::from_claims(&claims)),
            requests => Serde(PARTNER_REQUESTS),
        },
    )
}

async fn signed_out(State(app): State<Arc<App>>) -> Response {
    app.render(
        StatusCode::OK,
        "signed_out.html",
        context! { title => "Signed out" },
    )
}

async fn not_found(State(app): State<Arc<App>>, claims: Option<Claims>) -> Response {
    app.error_page(
        StatusCode::NOT_FOUND,
        claims.as_ref(),
        "The page you asked for does not exist.",
    )
}

// --- sign-in --------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

async fn login(State(app): State<Arc<App>>, Query(q): Query<ReturnTo>) -> Response {
    app.start(local_path(q.return_to.as_deref()), None, false)
}

async fn step_up_start(
    State(app): State<Arc<App>>,
    claims: Option<Claims>,
    Query(q): Query<ReturnTo>,
) -> Response {
    let return_to = local_path(q.return_to.as_deref());
    let hint = claims.as_ref().map(|c| user_of(c).to_owned());
    // Read by tests/dashboard.rs.
    println!("step-up: return_to={return_to}");
    app.start(return_to, hint, true)
}

impl App {
    /// Starts an authorization request (code + PKCE S256 + state + nonce,
    /// `prompt=login`: every sign-in is a fresh one) and redirects the browser
    /// to the provider. A step-up also asks for MFA.
    fn start(&self, return_to: String, login_hint: Option<String>, step_up: bool) -> Response {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .add_prompt(CoreAuthPrompt::Login);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint));
        }
        if step_up {
            for acr in &self.step_up_acr {
                request =
                    request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
            }
            if let Some(claims) = &self.step_up_claims {
                request = request.add_extra_param("claims", claims.clone());
            }
        }
        let (url, state, nonce) = request.url();

        {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            flows.retain(|_, f| f.started.elapsed() < FLOW_TTL);
            if flows.len() >= MAX_FLOWS {
                return self.error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "Too many sign-ins are in progress. Try again in a few minutes.",
                );
            }
            flows.insert(
                state.secret().clone(),
                Flow {
                    verifier,
                    nonce,
                    return_to,
                    started: Instant::now(),
                },
            );
        }
        let flow_cookie = self.cookie(FLOW_COOKIE, state.secret(), "/callback", FLOW_TTL.as_secs());
        see_other(url.as_str(), flow_cookie)
    }

    /// An `HttpOnly; SameSite=Lax` cookie (`Secure` behind https). `None` when
    /// the value cannot be a header (never for the values used here).
    fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> Option<HeaderValue> {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let fail = |status: StatusCode, why: &str| -> Response {
        tracing::warn!(target: "partner_dashboard", "sign-in failed: {why}");
        app.error_page(status, None, &format!("Sign-in failed: {why}."))
    };
    let Some(state) = q.state else {
        return fail(StatusCode::BAD_REQUEST, "no state");
    };
    // The state must be the one this browser started (login CSRF).
    if cookie(&headers, FLOW_COOKIE) != Some(state.as_str()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "the sign-in was not started in this browser",
        );
    }
    let flow = app
        .flows
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&state);
    let Some(flow) = flow.filter(|f| f.started.elapsed() < FLOW_TTL) else {
        return fail(StatusCode::BAD_REQUEST, "unknown or expired sign-in");
    };
    if q.error.is_some() {
        // The provider's error text is not shown: it comes from outside.
        return fail(StatusCode::UNAUTHORIZED, "the identity provider refused it");
    }
    let Some(code) = q.code else {
        return fail(StatusCode::BAD_REQUEST, "no code");
    };

    let request = match app.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(_) => return fail(StatusCode::INTERNAL_SERVER_ERROR, "no token endpoint"),
    };
    let tokens = match request
        .set_pkce_verifier(flow.verifier)
        .request_async(&app.http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(target: "partner_dashboard", "code exchange: {e}");
            return fail(StatusCode::BAD_GATEWAY, "the code exchange failed");
        }
    };
    // The ID token: signature, issuer, audience, expiry and our nonce.
    let Some(id_token) = tokens.id_token() else {
        return fail(StatusCode::BAD_GATEWAY, "no ID token");
    };
    if let Err(e) = id_token.claims(&app.client.id_token_verifier(), &flow.nonce) {
        tracing::warn!(target: "partner_dashboard", "ID token: {e}");
        return fail(StatusCode::BAD_GATEWAY, "the ID token is not valid");
    }
    let access_token = tokens.access_token().secret();
    // A JWT is base64url plus dots: safe in a cookie value as it is.
    if access_token.is_empty()
        || !access_token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return fail(StatusCode::BAD_GATEWAY, "the access token is not a JWT");
    }
    let max_age = tokens
        .expires_in()
        .map_or(3600, |d| d.as_secs())
        .min(24 * 3600);

    let mut response = see_other(
        &flow.return_to,
        app.cookie(TOKEN_COOKIE, access_token, "/", max_age),
    );
    if let Some(clear) = app.cookie(FLOW_COOKIE, "", "/callback", 0) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

async fn logout(State(app): State<Arc<App>>) -> Response {
    see_other("/signed-out", app.cookie(TOKEN_COOKIE, "", "/", 0))
}

/// What a browser (`GET` with `text/html` in `Accept`) sees instead of the
/// layer's API answers: without a valid token, the sign-in; any other refusal
/// that is not already a page, an error page. Every other request, and every
/// API client, gets the answer unchanged.
async fn browser_answers(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let browser = request.method() == http::Method::GET
        && request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("text/html"));
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let response = next.run(request).await;
    if !browser {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        let to: String =
            url::form_urlencoded::byte_serialize(local_path(Some(&path)).as_bytes()).collect();
        return see_other(&format!("/login?return_to={to}"), None);
    }
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_page {
        let message = match status {
            StatusCode::FORBIDDEN => "Your account may not open this page.",
            StatusCode::SERVICE_UNAVAILABLE => {
                "The sign-in service cannot be reached right now. Try again in a moment."
            }
            StatusCode::NOT_FOUND => "The page you asked for does not exist.",
            _ => "The request could not be completed.",
        };
        let mut page = app.error_page(status, None, message);
        if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
        return page;
    }
    response
}

fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `return_to` only ever names a path of this site: `/x`, never `//host`,
/// `/\host`, `https://host` or anything with control characters. Anything
/// else becomes `/dashboard` (no open redirect).
fn local_path(return_to: Option<&str>) -> String {
    match return_to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 2048 =>
        {
            p.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

// --- HTTP for openidconnect: reqwest 0.13, no redirects ---------------------------------------------

struct OidcHttp(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = self.0.execute(request).await?;
            let status = response.status();
            let version = response.version();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.version_mut() = version;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{local_path, templates};

    #[test]
    fn return_to_is_a_local_path() {
        assert_eq!(
            local_path(Some("/dashboard/customers?x=1")),
            "/dashboard/customers?x=1"
        );
        for bad in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil.test",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(local_path(None), "/dashboard");
    }

    #[test]
    fn pages_escape_what_they_show() {
        let env = templates().unwrap();
        let html = env
            .get_template("error.html")
            .unwrap()
            .render(minijinja::context! {
                title => "t", status => 404, message => "<script>x</script>",
            })
            .unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }
}
