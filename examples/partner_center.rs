//! A Partner-Center-like service guarded by `RequireMfaLayer`.
//!
//! ```sh
//! cargo run --example partner_center
//! cargo run --example partner_center -- --config examples/partner-center.toml
//! ```
//!
//! `--config FILE` (or `TOWER_MFA_CONFIG=FILE`) takes the route rules,
//! requirements and exemptions from a configuration file instead of the
//! code below; `examples/partner-center.toml` adds a billing route behind an
//! Entra authentication context (`c2`) and an admin route behind a sign-in
//! at most five minutes old. The file's issuer settings, if any, give way to
//! the development issuer or `TOWER_MFA_ISSUER`.
//!
//! With no configuration it starts an embedded development issuer (its own
//! RSA key pair, a JWKS route and a route that mints sample tokens) on
//! 127.0.0.1:3000 and prints curl lines to try. To trust a real issuer
//! instead, set `TOWER_MFA_ISSUER`, `TOWER_MFA_AUDIENCE` and
//! `TOWER_MFA_JWKS_URL` (or `TOWER_MFA_DISCOVERY_URL`); `TOWER_MFA_ADDR` sets
//! the listen address. The development issuer mints MFA tokens for anyone
//! who asks, so it refuses to start on an address other than loopback: to
//! listen on one, trust a real issuer.
//!
//! Routes:
//! - `GET /healthz`: public.
//! - `/v1/**`: the API. App+user tokens need MFA; app-only tokens pass.
//! - `/dashboard`: overview, sign-in only.
//! - `/dashboard/customers/**`, `/dashboard/support/customer-requests/**`: MFA.
//! - `/dashboard/support/partner-requests`: sign-in only.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, header};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tower_mfa::{Builder, Claims, Decision, RequireMfaLayer, Rule};

#[path = "support/env_issuer.rs"]
mod env_issuer;

const DEV_AUDIENCE: &str = "api://tower-mfa-demo";
const DEV_TENANT: &str = "df845f1a-7b35-40a2-ba78-6481de91f8ae";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_mfa=info,tower_http=info".into()),
        )
        .init();

    let addr: SocketAddr = std::env::var("TOWER_MFA_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let config = config_path()?;
    let real = env_issuer::is_set();
    if !real && !addr.ip().is_loopback() {
        eprintln!(
            "refusing to listen on {addr}: the development issuer mints MFA tokens for anyone \
             who asks, so it only listens on a loopback address (such as 127.0.0.1:3000). \
             To serve on {addr}, trust a real issuer instead: set TOWER_MFA_ISSUER, \
             TOWER_MFA_AUDIENCE and TOWER_MFA_JWKS_URL (or TOWER_MFA_DISCOVERY_URL)."
        );
        std::process::exit(2);
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");

    // The policy: the configuration file's, or the one in code below.
    let policy = match &config {
        Some(path) => {
            println!("policy from {}", path.display());
            Builder::from_toml_file(path)?
        }
        None => RequireMfaLayer::builder()
            .rule(Rule::public("/healthz"))
            .rule(Rule::mfa("/v1/**"))
            .rule(Rule::mfa("/dashboard/customers/**"))
            .rule(Rule::mfa("/dashboard/support/customer-requests/**"))
            .rule(Rule::authenticated("/dashboard/support/partner-requests"))
            .rule(Rule::authenticated("/dashboard")),
    };
    let (builder, dev) = if real {
        let builder = env_issuer::apply(policy)
            .map_err(|e| e as Box<dyn std::error::Error>)?
            .ok_or("TOWER_MFA_ISSUER is unset")?;
        (builder, None)
    } else {
        let issuer = DevIssuer::new(format!("{base}/dev-issuer"))?;
        let builder = policy
            .issuer(issuer.issuer.clone())
            .audience(DEV_AUDIENCE)
            .jwks_url(format!("{base}/dev-issuer/jwks"))
            .allow_http_loopback(true)
            .step_up_url(format!("{base}/dev-issuer/step-up"))
            .rule(Rule::public("/dev-issuer/**"));
        (builder, Some(Arc::new(issuer)))
    };

    let mfa = builder.build()?;

    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/customers", get(list_customers))
        .route("/v1/customers/{id}", get(customer))
        .route("/v1/customers/{id}/{*rest}", get(customer_sub))
        .route("/v1/{*rest}", get(api_other))
        .route("/dashboard", get(page))
        .route("/dashboard/customers", get(page))
        .route("/dashboard/customers/{*rest}", get(page))
        .route("/dashboard/support/customer-requests", get(page))
        .route("/dashboard/support/customer-requests/{*rest}", get(page))
        .route("/dashboard/support/partner-requests", get(page));
    if let Some(dev) = &dev {
        app = app.merge(
            Router::new()
                .route("/dev-issuer/jwks", get(jwks))
                .route("/dev-issuer/token", get(mint))
                .route("/dev-issuer/step-up", get(step_up))
                .with_state(Arc::clone(dev)),
        );
    }
    let app = app.layer(mfa).layer(TraceLayer::new_for_http()).layer(
        SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("set-cookie"),
        ]),
    );

    println!("tower-mfa Partner Center demo listening on {base}");
    if dev.is_some() {
        print_curl_lines(&base);
    }
    axum::serve(listener, app).await?;
    Ok(())
}

/// `--config FILE`, else `TOWER_MFA_CONFIG`, else none.
fn config_path() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args_os().skip(1);
    let mut path = std::env::var_os("TOWER_MFA_CONFIG").map(PathBuf::from);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            let file = args.next().ok_or("--config needs a file")?;
            path = Some(PathBuf::from(file));
        } else {
            return Err(format!(
                "unknown argument {}; usage: partner_center [--config FILE]",
                arg.to_string_lossy()
            ));
        }
    }
    Ok(path)
}

fn print_curl_lines(base: &str) {
    println!(
        r#"
Embedded development issuer: {base}/dev-issuer (JWKS at {base}/dev-issuer/jwks)
Mint tokens (kind = mfa | pwd | c2 | app | federated):

  MFA=$(curl -s '{base}/dev-issuer/token?kind=mfa')
  NOMFA=$(curl -s '{base}/dev-issuer/token?kind=pwd')
  APP=$(curl -s '{base}/dev-issuer/token?kind=app')

Try:

  curl -i {base}/healthz                                                    # 200, public
  curl -i {base}/v1/customers                                               # 401, no token
  curl -i -H "Authorization: Bearer $MFA" {base}/v1/customers               # 200, user with MFA
  curl -i -H "Authorization: Bearer $NOMFA" {base}/v1/customers               # 401 Unauthorized - MFA required
  curl -i -H "Authorization: Bearer $APP" {base}/v1/customers               # 200, app-only
  curl -i -H "Authorization: Bearer $NOMFA" {base}/dashboard                  # 200, overview needs sign-in only
  curl -i -H "Authorization: Bearer $NOMFA" {base}/dashboard/customers        # 401, MFA-protected page
  curl -i -H "Authorization: Bearer $NOMFA" -H 'Accept: text/html' {base}/dashboard/customers   # 303 to step-up
  curl -i -H "Authorization: Bearer not-a-jwt" {base}/v1/customers          # 401 invalid_token
"#
    );
}

async fn list_customers(claims: Claims, decision: Decision) -> Json<Value> {
    Json(json!({
        "customers": [{"id": "contoso", "name": "Contoso"}, {"id": "fabrikam", "name": "Fabrikam"}],
        "caller": who(&claims, &decision),
    }))
}

async fn customer(Path(id): Path<String>, claims: Claims, decision: Decision) -> Json<Value> {
    Json(json!({"id": id, "caller": who(&claims, &decision)}))
}

async fn customer_sub(
    Path((id, rest)): Path<(String, String)>,
    claims: Claims,
    decision: Decision,
) -> Json<Value> {
    Json(json!({"id": id, "resource": rest, "caller": who(&claims, &decision)}))
}

async fn api_other(Path(rest): Path<String>, claims: Claims, decision: Decision) -> Json<Value> {
    Json(json!({"resource": rest, "caller": who(&claims, &decision)}))
}

async fn page(uri: axum::http::Uri, claims: Claims, decision: Decision) -> Json<Value> {
    Json(json!({"page": uri.path(), "caller": who(&claims, &decision)}))
}

fn who(claims: &Claims, decision: &Decision) -> Value {
    json!({
        "sub": claims.subject(),
        "name": claims.name(),
        "amr": claims.amr(),
        "kind": decision.caller().as_str(),
        "mfa": decision.mfa().map(|p| p.as_str()),
        "rule": decision.rule(),
    })
}

/// The embedded development issuer: an RSA key pair that signs sample tokens.
struct DevIssuer {
    issuer: String,
    kid: String,
    key: RsaKeyPair,
    jwks: Value,
}

impl DevIssuer {
    fn new(issuer: String) -> Result<Self, Box<dyn std::error::Error>> {
        let key =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed")?;
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
        let kid = format!("dev-{}", now() % 100_000);
        let jwks = json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e),
        }]});
        Ok(Self {
            issuer,
            kid,
            key,
            jwks,
        })
    }

    fn sign(&self, claims: &Value) -> Result<String, &'static str> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing failed")?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn jwks(State(dev): State<Arc<DevIssuer>>) -> Json<Value> {
    Json(dev.jwks.clone())
}

#[derive(serde::Deserialize)]
struct MintQuery {
    kind: Option<String>,
}

async fn mint(State(dev): State<Arc<DevIssuer>>, Query(q): Query<MintQuery>) -> impl IntoResponse {
    let now = now();
    let user = |amr: Value| {
        json!({
            "iss": dev.issuer, "aud": DEV_AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600,
            "tid": DEV_TENANT, "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
            "sub": "f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11", "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
            "scp": "user_impersonation", "name": "Jane Doe", "upn": "jane@contoso.example",
            "acr": "1", "amr": amr, "auth_time": now, "ver": "1.0",
        })
    };
    let claims = match q.kind.as_deref().unwrap_or("mfa") {
        "mfa" => user(json!(["pwd", "mfa"])),
        "pwd" => user(json!(["pwd"])),
        "c2" => {
            let mut claims = user(json!(["pwd", "mfa"]));
            claims["acrs"] = json!(["c2"]);
            claims
        }
        "federated" => user(json!(["http://schemas.microsoft.com/claims/multipleauthn"])),
        "app" => json!({
            "iss": dev.issuer, "aud": DEV_AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600,
            "tid": DEV_TENANT, "oid": "0a8b3c2d-1111-2222-3333-444455556666",
            "sub": "0a8b3c2d-1111-2222-3333-444455556666", "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
            "idtyp": "app", "roles": ["Partner.Read"], "ver": "1.0",
        }),
        _ => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                "kind must be mfa, pwd, c2, app or federated\n".to_owned(),
            );
        }
    };
    match dev.sign(&claims) {
        Ok(token) => (axum::http::StatusCode::OK, token),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_owned()),
    }
}

#[derive(serde::Deserialize)]
struct StepUpQuery {
    return_to: Option<String>,
}

async fn step_up(Query(q): Query<StepUpQuery>) -> Html<String> {
    let back = q.return_to.unwrap_or_else(|| "/".to_owned());
    let back: String = back
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "/-_.~?=&%".contains(*c))
        .collect();
    Html(format!(
        "<!doctype html><title>Step-up</title><h1>Multi-factor authentication required</h1>\
         <p>In production this is your identity provider's MFA prompt. Afterwards you return to \
         <code>{back}</code>.</p>"
    ))
}
