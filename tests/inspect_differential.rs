//! `tower-mfa inspect` answers exactly what the layer answers: one
//! configuration (docs/inspect/partner-api.toml), many (token, method, path)
//! cases, each sent through the layer (tower `oneshot`) and judged by
//! `inspect` (the library and the binary with `--json`); outcome, reason,
//! status and `WWW-Authenticate` must be identical.
//!
//! When the configuration grows (requirements, issuers, DPoP), the cases
//! grow with it.
#![cfg(feature = "cli")]

#[path = "support/mint.rs"]
mod mint;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Method, Request, Response};
use mint::{AUDIENCE, TENANT, app_claims, jwks, now, rsa_key, rsa_key2, user_claims};
use serde_json::{Value, json};
use tower::Layer;
use tower::{ServiceExt, service_fn};
use tower_mfa::inspect::{self, Outcome};
use tower_mfa::{Builder, Decision, RequireMfaLayer};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer as SubscriberLayer, SubscriberExt};

const CONFIG: &str = include_str!("../docs/inspect/partner-api.toml");
const CUSTOMER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
const EXEMPT_USER: &str = "7d3c1f00-0000-4000-8000-00000000e001";
const EXPIRED_EXEMPT_USER: &str = "7d3c1f00-0000-4000-8000-00000000e999";

/// What one side answered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    outcome: String,
    reason: Option<String>,
    status: u16,
    challenge: Option<String>,
}

fn layer() -> RequireMfaLayer {
    let keys = serde_json::to_vec(&jwks(&[rsa_key()])).unwrap();
    Builder::from_toml_str(CONFIG)
        .unwrap()
        .static_jwks(&keys)
        .unwrap()
        .build()
        .unwrap()
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn in_tenant(claims: Value, tid: &str) -> Value {
    with(
        claims,
        json!({"tid": tid, "iss": format!("https://sts.windows.net/{tid}/")}),
    )
}

/// The tokens: every kind of caller and fault the configuration tells apart.
fn tokens() -> Vec<(&'static str, String)> {
    let key = rsa_key();
    let user = |amr: &[&str]| user_claims(amr);
    let n = now();
    vec![
        ("mfa user", key.token(&user(&["pwd", "mfa"]))),
        ("password user", key.token(&user(&["pwd"]))),
        ("ngcmfa user", key.token(&user(&["ngcmfa"]))),
        (
            "mfa user with scope",
            key.token(&with(
                user(&["pwd", "mfa"]),
                json!({"scp": "user_impersonation Invoices.ReadWrite"}),
            )),
        ),
        (
            "password user with scope",
            key.token(&with(user(&["pwd"]), json!({"scp": "Invoices.ReadWrite"}))),
        ),
        (
            "mfa admin",
            key.token(&with(
                user(&["pwd", "mfa"]),
                json!({"roles": ["Partner.Admin"]}),
            )),
        ),
        (
            "mfa user with auth context c2",
            key.token(&with(user(&["pwd", "mfa"]), json!({"acrs": ["c2"]}))),
        ),
        (
            "mfa user signed in just now",
            key.token(&with(user(&["pwd", "mfa"]), json!({"auth_time": n}))),
        ),
        (
            "mfa user signed in an hour ago",
            key.token(&with(user(&["pwd", "mfa"]), json!({"auth_time": n - 3600}))),
        ),
        ("app-only", key.token(&app_claims())),
        (
            "app-only admin",
            key.token(&with(app_claims(), json!({"roles": ["Partner.Admin"]}))),
        ),
        (
            "exempted user",
            key.token(&with(user(&["pwd"]), json!({"oid": EXEMPT_USER}))),
        ),
        (
            "user with an expired exemption",
            key.token(&with(user(&["pwd"]), json!({"oid": EXPIRED_EXEMPT_USER}))),
        ),
        (
            "password user of the exempted tenant",
            key.token(&in_tenant(user(&["pwd"]), CUSTOMER_TENANT)),
        ),
        (
            "mfa user of a tenant not allowed",
            key.token(&in_tenant(user(&["pwd", "mfa"]), OTHER_TENANT)),
        ),
        (
            "expired",
            key.token(&with(
                user(&["pwd", "mfa"]),
                json!({"iat": n - 7200, "nbf": n - 7200, "exp": n - 3600}),
            )),
        ),
        (
            "wrong audience",
            key.token(&with(
                user(&["pwd", "mfa"]),
                json!({"aud": "api://someone-else"}),
            )),
        ),
        (
            "signed by an unknown key",
            rsa_key2().token(&user(&["pwd", "mfa"])),
        ),
        (
            "forged signature",
            rsa_key2().sign_json(&key.header(), &user(&["pwd", "mfa"])),
        ),
        (
            "alg none",
            format!(
                "{}.{}.x",
                mint::b64(br#"{"alg":"none"}"#),
                mint::b64(user(&["mfa"]).to_string().as_bytes())
            ),
        ),
        ("not a JWT", "abc.def".to_owned()),
    ]
}

fn requests() -> Vec<(Method, &'static str)> {
    vec![
        (Method::GET, "/healthz"),
        (Method::GET, "/v1/customers"),
        (Method::GET, "/v1/customers/42/orders"),
        (Method::GET, "/v1/invoices/7"),
        (Method::HEAD, "/v1/invoices/7"),
        (Method::POST, "/v1/invoices/7"),
        (Method::GET, "/v1/admin/users"),
        (Method::GET, "/v1/reports/q3"),
        (Method::GET, "/v1/orders/1"),
        (Method::GET, "/v1/billing"),
        (Method::GET, "/v1/payouts/7"),
        (Method::GET, "/v1/settings/profile"),
        (Method::GET, "/v1/search"),
        (Method::GET, "/dashboard"),
        (Method::PUT, "/v1/unlisted"),
    ]
}

/// Records the `reason` of each decision event (target `tower_mfa::decision`).
#[derive(Clone, Default)]
struct Reasons(Arc<Mutex<Vec<String>>>);

struct ReasonField(Option<String>);

impl Visit for ReasonField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "reason" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber> SubscriberLayer<S> for Reasons {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "tower_mfa::decision" {
            let mut field = ReasonField(None);
            event.record(&mut field);
            if let Some(reason) = field.0 {
                self.0.lock().unwrap().push(reason);
            }
        }
    }
}

/// The layer's answer: status and challenge from the response, the outcome
/// from the `Decision` the service saw, the reason of a refusal from the
/// decision log.
async fn through_layer(
    layer: &RequireMfaLayer,
    reasons: &Reasons,
    token: &str,
    method: &Method,
    path: &str,
) -> Answer {
    let service = layer.layer(service_fn(|req: Request<()>| async move {
        let (outcome, reason) = match req.extensions().get::<Decision>() {
            Some(d) if d.reported().is_some() => ("report_only", d.reported().map(|r| r.as_str())),
            Some(d) if d.exemption().is_some() => ("exempted", None),
            _ => ("pass", None),
        };
        let mut response = Response::new(());
        response
            .extensions_mut()
            .insert((outcome, reason.map(str::to_owned)));
        Ok::<_, Infallible>(response)
    }));
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap();
    reasons.0.lock().unwrap().clear();
    let response = service.oneshot(request).await.unwrap();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    match response
        .extensions()
        .get::<(&'static str, Option<String>)>()
    {
        Some((outcome, reason)) => Answer {
            outcome: (*outcome).to_owned(),
            reason: reason.clone(),
            status,
            challenge,
        },
        None => {
            let logged = reasons.0.lock().unwrap().clone();
            assert_eq!(logged.len(), 1, "one decision event per refusal");
            Answer {
                outcome: "refused".to_owned(),
                reason: logged.into_iter().next(),
                status,
                challenge,
            }
        }
    }
}

async fn through_inspect(
    layer: &RequireMfaLayer,
    token: &str,
    method: &Method,
    path: &str,
) -> Answer {
    let report = inspect::inspect_route(token, layer, method.clone(), path)
        .await
        .unwrap();
    let route = report.route.clone().unwrap();
    assert_eq!(route.passes(), report.verdict.passes());
    Answer {
        outcome: route.outcome.as_str().to_owned(),
        reason: route.reason.map(|r| r.as_str().to_owned()),
        status: route.status,
        challenge: route.www_authenticate,
    }
}

fn through_binary(dir: &Path, token: &str, method: &Method, path: &str) -> (Answer, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_tower-mfa"))
        .args(["inspect", "--json", "--config"])
        .arg(dir.join("partner-api.toml"))
        .arg("--jwks-file")
        .arg(dir.join("keys.json"))
        .args(["--method", method.as_str(), "--path", path, token])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let answer = Answer {
        outcome: json["outcome"].as_str().unwrap().to_owned(),
        reason: json["reason"].as_str().map(str::to_owned),
        status: u16::try_from(json["status"].as_u64().unwrap()).unwrap(),
        challenge: json["www_authenticate"].as_str().map(str::to_owned),
    };
    (answer, out.status.code())
}

#[tokio::test(flavor = "current_thread")]
async fn inspect_answers_what_the_layer_answers() {
    let reasons = Reasons::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(reasons.clone()));
    // Separate layers: no verified-token cache shared between the sides.
    let (served, judged) = (layer(), layer());
    let dir = std::env::temp_dir().join(format!("tower-mfa-differential-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("partner-api.toml"), CONFIG).unwrap();
    std::fs::write(
        dir.join("keys.json"),
        serde_json::to_vec(&jwks(&[rsa_key()])).unwrap(),
    )
    .unwrap();

    let mut seen = BTreeSet::new();
    let mut cases = 0;
    for (name, token) in tokens() {
        for (method, path) in requests() {
            let layer_answer = through_layer(&served, &reasons, &token, &method, path).await;
            let inspect_answer = through_inspect(&judged, &token, &method, path).await;
            assert_eq!(
                inspect_answer, layer_answer,
                "{name}: {method} {path}: inspect differs from the layer"
            );
            // The binary on a sample (every path for three tokens), exit code included.
            if matches!(name, "password user" | "exempted user" | "forged signature") {
                let (binary_answer, code) = through_binary(&dir, &token, &method, path);
                assert_eq!(
                    binary_answer, layer_answer,
                    "{name}: {method} {path}: `tower-mfa inspect --json` differs from the layer"
                );
                let refused = layer_answer.outcome == "refused";
                assert_eq!(code, Some(i32::from(refused)), "{name}: {method} {path}");
            }
            seen.insert((layer_answer.outcome.clone(), layer_answer.reason.clone()));
            cases += 1;
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(cases >= 50, "{cases} cases");
    let kinds = |outcome: &str, reason: Option<&str>| {
        seen.contains(&(outcome.to_owned(), reason.map(str::to_owned)))
    };
    for (outcome, reason) in [
        ("pass", None),
        ("exempted", None),
        ("report_only", Some("no_mfa_proof")),
        ("refused", Some("no_mfa_proof")),
        ("refused", Some("missing_scope")),
        ("refused", Some("missing_role")),
        ("refused", Some("missing_auth_context")),
        ("refused", Some("mfa_too_old")),
        ("refused", Some("wrong_tenant")),
        ("refused", Some("expired")),
        ("refused", Some("bad_signature")),
        ("refused", Some("unknown_kid")),
        ("refused", Some("wrong_audience")),
        ("refused", Some("unsupported_algorithm")),
        ("refused", Some("malformed_token")),
    ] {
        assert!(
            kinds(outcome, reason),
            "no case had outcome {outcome} reason {reason:?}: {seen:?}"
        );
    }
}

/// The configuration the docs judge with parses and builds (with keys from
/// code in place of its JWKS URL), and its tenant is the test issuer's.
#[test]
fn the_documented_configuration_builds() {
    assert!(CONFIG.contains(TENANT));
    assert!(CONFIG.contains(AUDIENCE));
    Builder::from_toml_str(CONFIG).unwrap().build().unwrap();
    let _ = layer();
}

#[tokio::test(flavor = "current_thread")]
async fn password_only_is_refused_on_customers_and_allowed_on_the_dashboard() {
    let layer = layer();
    let token = rsa_key().token(&user_claims(&["pwd"]));
    let refused = inspect::inspect_route(&token, &layer, Method::GET, "/v1/customers")
        .await
        .unwrap();
    let route = refused.route.as_ref().unwrap();
    assert_eq!(route.outcome, Outcome::Refused);
    assert_eq!(route.rule, "customers");
    assert_eq!(route.status, 401);
    assert_eq!(
        route.www_authenticate.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    let text = refused.to_string();
    assert!(
        text.starts_with("verdict:   401 Unauthorized - MFA required (no_mfa_proof)"),
        "{text}"
    );
    assert!(text.contains("FAIL mfa"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour unless asked: {text}");
    assert!(refused.render(true).to_string().contains('\u{1b}'));

    let allowed = inspect::inspect_route(&token, &layer, Method::GET, "/dashboard")
        .await
        .unwrap();
    let route = allowed.route.as_ref().unwrap();
    assert_eq!(route.outcome, Outcome::Pass);
    assert_eq!(route.rule, "dashboard");
    assert!(
        allowed.to_string().starts_with("verdict:   200 pass"),
        "{allowed}"
    );
}

/// What inspect says one token gets on one route: outcome, reason, status
/// and challenge, checked against the layer's own answer.
async fn judged(token: &str, path: &str) -> (Outcome, Option<&'static str>, u16, Option<String>) {
    let reasons = Reasons::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(reasons.clone()));
    let report = inspect::inspect_route(token, &layer(), Method::GET, path)
        .await
        .unwrap();
    let route = report.route.clone().unwrap();
    let layer_answer = through_layer(&layer(), &reasons, token, &Method::GET, path).await;
    assert_eq!(
        through_inspect(&layer(), token, &Method::GET, path).await,
        layer_answer,
        "{path}"
    );
    (
        route.outcome,
        route.reason.map(|r| r.as_str()),
        route.status,
        route.www_authenticate,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_requirement_refuses_on_one_route_what_another_allows() {
    let key = rsa_key();
    // MFA without the c2 authentication context: enough for customers, not
    // for payouts (requirement `auth_context`).
    let mfa = key.token(&user_claims(&["pwd", "mfa"]));
    assert_eq!(judged(&mfa, "/v1/customers").await.0, Outcome::Pass);
    assert_eq!(
        judged(&mfa, "/v1/payouts/7").await,
        (
            Outcome::Refused,
            Some("missing_auth_context"),
            401,
            Some(r#"Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required", acr_values="c2""#.to_owned())
        )
    );
    let c2 = key.token(&with(user_claims(&["pwd", "mfa"]), json!({"acrs": ["c2"]})));
    assert_eq!(judged(&c2, "/v1/payouts/7").await.0, Outcome::Pass);

    // An hour-old sign-in: enough for customers, not for settings
    // (requirement `recent_sign_in`, five minutes).
    let stale = key.token(&with(
        user_claims(&["pwd", "mfa"]),
        json!({"auth_time": now() - 3600}),
    ));
    assert_eq!(judged(&stale, "/v1/customers").await.0, Outcome::Pass);
    assert_eq!(
        judged(&stale, "/v1/settings/profile").await,
        (
            Outcome::Refused,
            Some("mfa_too_old"),
            401,
            Some(r#"Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required", max_age="300""#.to_owned())
        )
    );
    let fresh = key.token(&with(
        user_claims(&["pwd", "mfa"]),
        json!({"auth_time": now()}),
    ));
    assert_eq!(
        judged(&fresh, "/v1/settings/profile").await.0,
        Outcome::Pass
    );
}

#[tokio::test(flavor = "current_thread")]
async fn exemption_and_report_only_are_named() {
    let layer = layer();
    let token = rsa_key().token(&with(user_claims(&["pwd"]), json!({"oid": EXEMPT_USER})));
    let report = inspect::inspect_route(&token, &layer, Method::GET, "/v1/customers")
        .await
        .unwrap();
    let route = report.route.as_ref().unwrap();
    assert_eq!(route.outcome, Outcome::Exempted);
    assert_eq!(route.exemption.as_ref().unwrap().id, "TKT-1001");
    let text = report.to_string();
    assert!(
        text.starts_with(r#"verdict:   200 pass, MFA waived by exemption "TKT-1001""#),
        "{text}"
    );
    assert!(
        text.contains(r#"exemption: "TKT-1001" until 2099-06-30T00:00:00Z: security key on order"#),
        "{text}"
    );

    let token = rsa_key().token(&user_claims(&["pwd"]));
    for (path, mode) in [
        ("/v1/reports/q3", "mode:      report-only\n"),
        (
            "/v1/orders/1",
            "mode:      report-only until 2099-01-01T00:00:00Z\n",
        ),
        (
            "/v1/billing",
            "mode:      enforced since 2020-01-01T00:00:00Z\n",
        ),
    ] {
        let report = inspect::inspect_route(&token, &layer, Method::GET, path)
            .await
            .unwrap();
        let text = report.to_string();
        assert!(text.contains(mode), "{path}: {text}");
    }
}

/// `--discovery` and `--jwks` in place of the file's keys, fetched as the
/// layer fetches them; bad input is exit code 2.
#[tokio::test(flavor = "multi_thread")]
async fn binary_fetches_keys_by_discovery_or_jwks_url() {
    let server = mint::JwksServer::start(jwks(&[rsa_key()])).await;
    let dir = std::env::temp_dir().join(format!("tower-mfa-discovery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("partner-api.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let token = rsa_key().token(&user_claims(&["pwd", "mfa"]));
    let run = |args: Vec<String>| {
        let out = Command::new(env!("CARGO_BIN_EXE_tower-mfa"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let config = config.to_str().unwrap().to_owned();
    for (flag, url) in [
        ("--discovery", server.discovery_url()),
        ("--jwks", server.jwks_url()),
    ] {
        let args: Vec<String> = [
            "inspect",
            "--config",
            &config,
            flag,
            &url,
            "--allow-http-loopback",
            "--path",
            "/v1/customers/42",
            &token,
        ]
        .map(str::to_owned)
        .to_vec();
        let (code, text, err) = run(args);
        assert_eq!(code, Some(0), "{flag}: {text}{err}");
        assert!(
            text.starts_with(&format!("keys from: {url}\nverdict:   200 pass\n")),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour off a terminal: {text}");
    }
    assert!(
        server
            .discovery_hits
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1
    );

    // An http URL needs --allow-http-loopback, as in the layer: exit 2.
    let (code, _, err) = run([
        "inspect",
        "--config",
        &config,
        "--jwks",
        &server.jwks_url(),
        &token,
    ]
    .map(str::to_owned)
    .to_vec());
    assert_eq!(code, Some(2), "{err}");
    // --path without --config, and a path that is not one: exit 2.
    let (code, _, _) = run(["inspect", "--path", "/v1", &token]
        .map(str::to_owned)
        .to_vec());
    assert_eq!(code, Some(2));
    let (code, _, err) = run(["inspect", "--config", &config, "--path", "v1", &token]
        .map(str::to_owned)
        .to_vec());
    assert_eq!(code, Some(2), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

const TENANT_B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const IDP_B: &str = "https://idp-b.example/";

/// Two issuers: Entra v1 (its key bound to tenant `TENANT` by Entra's
/// per-key `issuer`) and a second provider, each with its own static keys.
fn two_issuer_config() -> String {
    let mut entra_key = rsa_key().jwk();
    entra_key["issuer"] = format!("https://login.microsoftonline.com/{TENANT}/v2.0").into();
    let entra_keys = json!({"keys": [entra_key]}).to_string();
    let idp_keys = jwks(&[rsa_key2()]).to_string();
    format!(
        r#"
[[issuers]]
name = "entra-v1"
issuer = "https://sts.windows.net/{{tenantid}}/"
audiences = ["{AUDIENCE}"]
static_jwks = '{entra_keys}'

[[issuers]]
name = "idp-b"
issuer = "{IDP_B}"
audiences = ["{AUDIENCE}"]
static_jwks = '{idp_keys}'

[[rules]]
pattern = "/v1/**"
access = "mfa"

[[rules]]
pattern = "/healthz"
access = "public"
"#
    )
}

#[tokio::test(flavor = "current_thread")]
async fn inspect_answers_what_the_layer_answers_with_two_issuers() {
    let reasons = Reasons::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(reasons.clone()));
    let config = two_issuer_config();
    let build = || Builder::from_toml_str(&config).unwrap().build().unwrap();
    let (served, judged) = (build(), build());
    let dir = std::env::temp_dir().join(format!("tower-mfa-differential-2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two-issuers.toml");
    std::fs::write(&file, &config).unwrap();

    let mfa = user_claims(&["pwd", "mfa"]);
    let from_b = |claims: Value| with(claims, json!({"iss": IDP_B}));
    let cases = [
        ("entra, tenant A", rsa_key().token(&mfa), Some("entra-v1")),
        (
            "entra, tenant A, no MFA",
            rsa_key().token(&user_claims(&["pwd"])),
            Some("entra-v1"),
        ),
        (
            "entra key bound to tenant A, token of tenant B",
            rsa_key().token(&in_tenant(mfa.clone(), TENANT_B)),
            None,
        ),
        (
            "idp-b",
            rsa_key2().token(&from_b(mfa.clone())),
            Some("idp-b"),
        ),
        (
            "idp-b claimed, signed with the entra key",
            rsa_key().token(&from_b(mfa.clone())),
            None,
        ),
        (
            "entra claimed, signed with the idp-b key",
            rsa_key2().token(&mfa),
            None,
        ),
        (
            "unknown issuer",
            rsa_key().token(&with(mfa.clone(), json!({"iss": "https://idp-c.example/"}))),
            None,
        ),
    ];
    let mut seen = BTreeSet::new();
    for (name, token, issuer) in &cases {
        for (method, path) in [(Method::GET, "/v1/customers"), (Method::GET, "/healthz")] {
            let layer_answer = through_layer(&served, &reasons, token, &method, path).await;
            let inspect_answer = through_inspect(&judged, token, &method, path).await;
            assert_eq!(inspect_answer, layer_answer, "{name}: {path}");
            let out = Command::new(env!("CARGO_BIN_EXE_tower-mfa"))
                .args(["inspect", "--json", "--config"])
                .arg(&file)
                .args(["--method", method.as_str(), "--path", path, token])
                .output()
                .unwrap();
            let json: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
            let binary_answer = Answer {
                outcome: json["outcome"].as_str().unwrap().to_owned(),
                reason: json["reason"].as_str().map(str::to_owned),
                status: u16::try_from(json["status"].as_u64().unwrap()).unwrap(),
                challenge: json["www_authenticate"].as_str().map(str::to_owned),
            };
            assert_eq!(binary_answer, layer_answer, "{name}: {path}: binary");
            if path != "/healthz" {
                // inspect names the issuer whose key verified the token.
                assert_eq!(json["route"]["issuer"].as_str(), *issuer, "{name}");
                let report = inspect::inspect_route(token, &judged, method.clone(), path)
                    .await
                    .unwrap();
                assert_eq!(report.route.unwrap().issuer.as_deref(), *issuer, "{name}");
            }
            seen.insert((layer_answer.outcome, layer_answer.reason));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    for (outcome, reason) in [
        ("pass", None),
        ("refused", Some("no_mfa_proof")),
        ("refused", Some("key_issuer_mismatch")),
        ("refused", Some("unknown_kid")),
        ("refused", Some("wrong_issuer")),
    ] {
        assert!(
            seen.contains(&(outcome.to_owned(), reason.map(str::to_owned))),
            "no case had outcome {outcome} reason {reason:?}: {seen:?}"
        );
    }
}
