//! The builder and the file say the same things: a file that sets every key
//! and the same layer built in code answer a set of requests identically
//! (status, challenge, `Location`, body, reason phrase, decision).
use crate::{harness, mint};

use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use harness::{Harness, Reply, at, clock, secs};
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower_mfa::clock::ManualClock;
use tower_mfa::{
    Access, AppOnly, Builder, ChallengeStyle, ClaimsChallenge, ExemptSubject, Exemption,
    Exemptions, KeysUnavailableStatus, MfaPolicy, RequireMfaLayer, Requirement, Rule,
};

const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AUTHORIZE: &str = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize";
const STEP_UP: &str = "https://portal.example.com/step-up?return_to={return_to}";
const BILLING_STEP_UP: &str = "https://portal.example.com/billing-step-up";
const EXEMPTED_OID: &str = "9b1f0c7e-2222-4444-8888-000000000001";

/// Every key of the format, set to a value other than its default.
fn every_key() -> String {
    format!(
        r#"
issuer = "{issuer}"
audiences = ["api://other", "{audience}"]
jwks_url = "http://127.0.0.1:9/jwks"
allow_http_loopback = true
default_access = "optional"
app_only = "require_mfa"
leeway_seconds = 30
max_lifetime_seconds = 7200
strict_rfc9068 = true
max_token_len = 4096
fetch_timeout_seconds = 5
max_jwks_bytes = 65536
refresh_cooldown_seconds = 10
refresh_interval_seconds = 600
token_cache_bytes = 0
realm = "partner-api"
step_up_url = "{STEP_UP}"
token_cookie = "session"
keys_unavailable = "unauthorized"

[mfa]
equivalents = ["ngcmfa"]
read_long_amr_claims = true
derive_from_factors = true
accept_acr = ["urn:mfa"]
accept_auth_contexts = ["c1"]
require_auth_contexts = []
max_age_seconds = 3600

[challenge]
style = "rfc9470"
acr_values = "urn:mfa"
max_age_seconds = 600

[entra_claims_challenge]
authorization_uri = "{AUTHORIZE}"
auth_context = "c1"

[requirements.billing]
app_only = "deny"
step_up_url = "{BILLING_STEP_UP}"
mfa = {{ equivalents = [], require_auth_contexts = ["c2"], max_age_seconds = 300 }}
challenge = {{ style = "partner_center" }}
entra_claims_challenge = {{ authorization_uri = "{AUTHORIZE}", auth_context = "c2" }}

[tenants]
allow = ["{tenant}", "{OTHER_TENANT}"]
deny = ["{OTHER_TENANT}"]

[[rules]]
pattern = "/healthz"
access = "public"

[[rules]]
name = "billing writes"
pattern = "/v1/billing/**"
access = "mfa"
methods = ["POST"]
scopes = ["Billing.Write"]
roles = ["Admin"]
requirement = "billing"

[[rules]]
pattern = "/v1/billing/**"
access = "mfa"
requirement = "billing"
mode = "report_only"

[[rules]]
pattern = "/v1/**"
access = "mfa"
enforce_from = 2100-01-01T00:00:00Z

[[rules]]
pattern = "/admin/**"
access = "mfa"

[[rules]]
pattern = "/dashboard"
access = "authenticated"

[[exemptions]]
id = "EXC-1"
user = "{EXEMPTED_OID}"
tenant = "{tenant}"
reason = "hardware token lost"
expires = 2100-01-01T00:00:00Z
"#,
        issuer = mint::ISSUER,
        audience = mint::AUDIENCE,
        tenant = mint::TENANT,
    )
}

/// The same layer in code.
fn in_code(clock: &ManualClock) -> Builder {
    let far = UNIX_EPOCH + Duration::from_secs(4_102_444_800); // 2100-01-01
    RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience("api://other")
        .audience(mint::AUDIENCE)
        .jwks_url("http://127.0.0.1:9/jwks")
        .allow_http_loopback(true)
        .default_access(Access::Optional)
        .app_only(AppOnly::RequireMfa)
        .leeway(Duration::from_secs(30))
        .max_lifetime(Duration::from_secs(7200))
        .strict_rfc9068(true)
        .max_token_len(4096)
        .fetch_timeout(Duration::from_secs(5))
        .max_jwks_bytes(65536)
        .refresh_cooldown(Duration::from_secs(10))
        .refresh_interval(Duration::from_secs(600))
        .token_cache_bytes(0)
        .realm("partner-api")
        .step_up_url(STEP_UP)
        .token_cookie("session")
        .keys_unavailable_status(KeysUnavailableStatus::Unauthorized)
        .mfa_policy(
            MfaPolicy::new()
                .equivalent_amr_values(["ngcmfa"])
                .read_long_amr_claims(true)
                .derive_from_factors(true)
                .accept_acr(["urn:mfa"])
                .accept_auth_contexts(["c1"])
                .max_age(Duration::from_secs(3600)),
        )
        .challenge_style(ChallengeStyle::Rfc9470 {
            acr_values: Some("urn:mfa".into()),
            max_age: Some(600),
        })
        .entra_claims_challenge(ClaimsChallenge {
            authorization_uri: AUTHORIZE.into(),
            auth_context: "c1".into(),
        })
        .requirement(
            "billing",
            Requirement::mfa()
                .app_only(AppOnly::Deny)
                .step_up_url(BILLING_STEP_UP)
                .mfa_policy(
                    MfaPolicy::new()
                        .equivalent_amr_values(Vec::<String>::new())
                        .require_auth_contexts(["c2"])
                        .max_age(Duration::from_secs(300)),
                )
                .challenge_style(ChallengeStyle::PartnerCenter)
                .entra_claims_challenge(ClaimsChallenge {
                    authorization_uri: AUTHORIZE.into(),
                    auth_context: "c2".into(),
                }),
        )
        .allow_tenants([mint::TENANT, OTHER_TENANT])
        .deny_tenants([OTHER_TENANT])
        .rule(Rule::public("/healthz"))
        .rule(
            Rule::mfa("/v1/billing/**")
                .name("billing writes")
                .method(Method::POST)
                .require_scope("Billing.Write")
                .require_role("Admin")
                .requirement("billing"),
        )
        .rule(
            Rule::mfa("/v1/billing/**")
                .requirement("billing")
                .report_only(),
        )
        .rule(Rule::mfa("/v1/**").enforce_from(far))
        .rule(Rule::mfa("/admin/**"))
        .rule(Rule::authenticated("/dashboard"))
        .exemptions(Exemptions::new(vec![{
            let mut e = Exemption::new(
                "EXC-1",
                ExemptSubject::User(EXEMPTED_OID.into()),
                "hardware token lost",
                far,
            );
            e.tenant = Some(mint::TENANT.into());
            e
        }]))
        .clock(clock.clone())
}

fn with_keys(b: Builder, clock: &ManualClock) -> Harness {
    Harness::new(
        b.static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
            .expect("static JWKS")
            .clock(clock.clone()),
    )
}

/// An `at+jwt` token (the layer is strict) for these claims.
fn token(claims: &Value) -> String {
    let mut header = mint::rsa_key().header();
    header["typ"] = "at+jwt".into();
    mint::rsa_key().sign_json(&header, claims)
}

fn user(clock: &ManualClock, amr: &[&str], age: u64, extra: Value) -> Value {
    let mut claims = at(clock, mint::user_claims(amr));
    claims["exp"] = (secs(clock) + 3000).into();
    claims["auth_time"] = (secs(clock) - age).into();
    if let (Value::Object(map), Value::Object(more)) = (&mut claims, extra) {
        map.extend(more);
    }
    claims
}

/// How a request carries its token.
enum Carry {
    None,
    Header(String),
    Cookie(String),
}

fn request(method: &Method, path: &str, carry: &Carry, html: bool) -> Request<Body> {
    let mut req = Request::builder().method(method.clone()).uri(path);
    match carry {
        Carry::None => {}
        Carry::Header(t) => req = req.header("authorization", format!("Bearer {t}")),
        Carry::Cookie(t) => req = req.header("cookie", format!("session={t}")),
    }
    if html {
        req = req.header("accept", "text/html");
    }
    req.body(Body::empty()).unwrap()
}

fn summary(r: &Reply) -> String {
    format!(
        "{} {:?} {:?} loc={:?} reached={} mfa={:?} reported={:?} body={:?}",
        r.status,
        r.reason,
        r.challenge(),
        r.header("location"),
        r.reached(),
        r.header("x-mfa"),
        r.header("x-reported"),
        r.body
    )
}

#[tokio::test]
async fn a_file_setting_every_key_behaves_like_the_code() {
    let clock = clock();
    let code = with_keys(in_code(&clock), &clock);
    let file = with_keys(
        Builder::from_toml_str(&every_key()).expect("valid file"),
        &clock,
    );

    let mut jwt_typ = user(&clock, &["pwd", "mfa"], 10, json!({}));
    jwt_typ["jti"] = "jwt-typ".into();
    let tokens = vec![
        ("none", Carry::None),
        ("garbage", Carry::Header("not-a-token".into())),
        ("too long", Carry::Header("a".repeat(5000))),
        ("typ JWT", Carry::Header(mint::rsa_key().token(&jwt_typ))),
        (
            "mfa",
            Carry::Header(token(&user(&clock, &["pwd", "mfa"], 10, json!({})))),
        ),
        (
            "mfa in cookie",
            Carry::Cookie(token(&user(&clock, &["pwd", "mfa"], 10, json!({})))),
        ),
        (
            "mfa, 2 h old",
            Carry::Header(token(&user(&clock, &["pwd", "mfa"], 7200, json!({})))),
        ),
        (
            "ngcmfa",
            Carry::Header(token(&user(&clock, &["ngcmfa"], 10, json!({})))),
        ),
        (
            "multipleauthn",
            Carry::Header(token(&user(
                &clock,
                &["http://schemas.microsoft.com/claims/multipleauthn"],
                10,
                json!({}),
            ))),
        ),
        (
            "pwd + otp",
            Carry::Header(token(&user(&clock, &["pwd", "otp"], 10, json!({})))),
        ),
        (
            "acr urn:mfa",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                10,
                json!({"acr": "urn:mfa"}),
            ))),
        ),
        (
            "acrs c1",
            Carry::Header(token(&user(&clock, &["pwd"], 10, json!({"acrs": ["c1"]})))),
        ),
        (
            "long amr",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                10,
                json!({"authenticationmethodsreferences": "mfa"}),
            ))),
        ),
        (
            "pwd",
            Carry::Header(token(&user(&clock, &["pwd"], 10, json!({})))),
        ),
        (
            "pwd, cp1",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                10,
                json!({"xms_cc": ["cp1"]}),
            ))),
        ),
        (
            "c2, fresh",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                10,
                json!({"acrs": ["c2"], "scp": "Billing.Write", "roles": ["Admin"]}),
            ))),
        ),
        (
            "c2, stale",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                1000,
                json!({"acrs": ["c2"], "scp": "Billing.Write", "roles": ["Admin"]}),
            ))),
        ),
        (
            "exempted",
            Carry::Header(token(&user(
                &clock,
                &["pwd"],
                10,
                json!({"oid": EXEMPTED_OID}),
            ))),
        ),
        (
            "other tenant",
            Carry::Header(token(&user(
                &clock,
                &["pwd", "mfa"],
                10,
                json!({"tid": OTHER_TENANT}),
            ))),
        ),
        (
            "other audience",
            Carry::Header(token(&user(
                &clock,
                &["pwd", "mfa"],
                10,
                json!({"aud": "api://other"}),
            ))),
        ),
        (
            "app",
            Carry::Header(token(&{
                let mut c = at(&clock, mint::app_claims());
                c["exp"] = (secs(&clock) + 3000).into();
                c
            })),
        ),
    ];
    let routes = [
        (Method::GET, "/healthz"),
        (Method::GET, "/anything"),
        (Method::GET, "/dashboard"),
        (Method::GET, "/admin/users"),
        (Method::GET, "/v1/customers"),
        (Method::GET, "/v1/billing/invoices"),
        (Method::POST, "/v1/billing/invoices"),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (what, carry) in &tokens {
        for (method, path) in &routes {
            for html in [false, true] {
                let a = summary(&code.send(request(method, path, carry, html)).await);
                let b = summary(&file.send(request(method, path, carry, html)).await);
                assert_eq!(a, b, "{what}: {method} {path} html={html}");
                seen.insert(a);
            }
        }
    }
    // The comparison covers many distinct answers, not one repeated.
    assert!(seen.len() >= 15, "{seen:#?}");

    // A few spot checks that the settings took effect at all.
    let reply = file
        .send(request(&Method::GET, "/dashboard", &Carry::None, false))
        .await;
    reply.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer realm=\"partner-api\""),
    );
    let pwd = &tokens[13].1;
    let reply = file
        .send(request(&Method::GET, "/admin/users", pwd, true))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .header("location")
            .is_some_and(|l| l.starts_with("https://portal.example.com/step-up?return_to="))
    );
    let reply = file
        .send(request(&Method::GET, "/admin/users", pwd, false))
        .await;
    reply.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", acr_values=\"urn:mfa\", max_age=\"600\""),
    );
    let reply = file
        .send(request(
            &Method::POST,
            "/v1/billing/x",
            &tokens[16].1,
            false,
        ))
        .await;
    reply.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"invalid_token\""),
    );
    let reply = file
        .send(request(&Method::GET, "/v1/billing/x", &tokens[16].1, false))
        .await;
    reply.assert_passed();
    assert_eq!(reply.header("x-reported"), Some("mfa_too_old"));
}
