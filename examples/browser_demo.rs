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

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata,
};
use openidconnect::{
    AsyncHttpClient, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl,
    LoginHint, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use serde::Deserialize;
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
    client: OidcClient,
    http: OidcHttp,
    scopes: Vec<String>,
    step_up: StepUp,
    secure_cookies: bool,
    flows: Mutex<HashMap<String, Flow>>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_mfa=info,browser_demo=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let required = |name: &str| env(name).ok_or_else(|| format!("{name} is required"));

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

    // The guard: the same issuer's keys (discovery), the token from the cookie,
    // browsers without MFA sent to /step-up.
    let mfa = RequireMfaLayer::builder()
        .issuer(issuer.clone())
        .audience(audience)
        .discover_from_issuer()
        .allow_http_loopback(true)
        .token_cookie(TOKEN_COOKIE)
        .step_up_url("/step-up")
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

    let app = Arc::new(App {
        client,
        http,
        scopes,
        step_up,
        secure_cookies: redirect_uri.starts_with("https://"),
        flows: Mutex::new(HashMap::new()),
    });

    let router = Router::new()
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
        .layer(middleware::from_fn(sign_in_browsers))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("set-cookie"),
        ]));

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

/// A name for the user: `preferred_username` (Entra v2), `upn` (v1), else `sub`.
fn user_of(claims: &Claims) -> &str {
    claims
        .get("preferred_username")
        .and_then(|v| v.as_str())
        .or_else(|| claims.upn())
        .or_else(|| claims.subject())
        .unwrap_or("?")
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
    /// Starts an authorization request (code + PKCE S256 + state + nonce) and
    /// redirects the browser to the provider.
    fn start(&self, return_to: String, login_hint: Option<String>, step_up: bool) -> Response {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint));
        }
        if step_up {
            request = request.add_prompt(CoreAuthPrompt::Login);
            for acr in &self.step_up.acr_values {
                request =
                    request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
            }
            if let Some(claims) = &self.step_up.claims {
                request = request.add_extra_param("claims", claims.clone());
            }
        }
        let (url, state, nonce) = request.url();

        {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            flows.retain(|_, f| f.started.elapsed() < FLOW_TTL);
            if flows.len() >= MAX_FLOWS {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many sign-ins in progress",
                )
                    .into_response();
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
        see_other(url.as_str(), Some(flow_cookie))
    }

    fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .expect("cookie values are URL-safe")
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let fail = |status: StatusCode, why: &str| -> Response {
        tracing::warn!(target: "browser_demo", "sign-in failed: {why}");
        (
            status,
            page(
                "Sign-in failed",
                &format!(
                    "<p id=\"error\">{}</p><p><a href=\"/\">Start over</a></p>",
                    esc(why)
                ),
            ),
        )
            .into_response()
    };
    let Some(state) = q.state else {
        return fail(StatusCode::BAD_REQUEST, "no state");
    };
    // The state must be the one this browser started (login CSRF).
    if cookie(&headers, FLOW_COOKIE) != Some(state.as_str()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "state does not belong to this browser",
        );
    }
    let flow = app
        .flows
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&state);
    let Some(flow) = flow.filter(|f| f.started.elapsed() < FLOW_TTL) else {
        return fail(StatusCode::BAD_REQUEST, "unknown or expired state");
    };
    if let Some(error) = q.error {
        let description = q.error_description.unwrap_or_default();
        return fail(StatusCode::UNAUTHORIZED, &format!("{error}: {description}"));
    }
    let Some(code) = q.code else {
        return fail(StatusCode::BAD_REQUEST, "no code");
    };

    let request = match app.client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let tokens = match request
        .set_pkce_verifier(flow.verifier)
        .request_async(&app.http)
        .await
    {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::BAD_GATEWAY, &format!("code exchange: {e}")),
    };
    // The ID token: signature, issuer, audience, expiry and our nonce.
    let Some(id_token) = tokens.id_token() else {
        return fail(StatusCode::BAD_GATEWAY, "no ID token");
    };
    if let Err(e) = id_token.claims(&app.client.id_token_verifier(), &flow.nonce) {
        return fail(StatusCode::BAD_GATEWAY, &format!("ID token: {e}"));
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
        Some(app.cookie(TOKEN_COOKIE, access_token, "/", max_age)),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        app.cookie(FLOW_COOKIE, "", "/callback", 0),
    );
    response
}

async fn logout(State(app): State<Arc<App>>) -> Response {
    see_other("/", Some(app.cookie(TOKEN_COOKIE, "", "/", 0)))
}

/// A browser without a valid token (the layer's 401) goes to sign in. API
/// clients, and every other answer, pass unchanged.
async fn sign_in_browsers(request: Request, next: Next) -> Response {
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
    if browser && response.status() == StatusCode::UNAUTHORIZED {
        let to: String =
            url::form_urlencoded::byte_serialize(local_path(Some(&path)).as_bytes()).collect();
        return see_other(&format!("/login?return_to={to}"), None);
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

// --- HTTP for openidconnect: reqwest 0.13, no redirects -------------------------------------

struct OidcHttp(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = self.0.execute(request).await?;
            let mut out = http::Response::builder()
                .status(response.status())
                .version(response.version());
            if let Some(headers) = out.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = response.bytes().await?.to_vec();
            Ok(out
                .body(body)
                .expect("status and headers come from a response"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

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
}
