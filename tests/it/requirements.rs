//! Per-route requirements: three routes with three requirements against
//! tokens with and without each proof, the exact challenge of each refusal,
//! report-only on a route with a named requirement, the same layer read from
//! TOML, and the errors naming a rule whose requirement does not exist.

use crate::{harness, mint};

use std::time::Duration;

use harness::{Harness, MFA_PARTNER_CENTER, Reply, clock, secs, static_builder, user_at};
use http::StatusCode;
use serde_json::{Value, json};
use tower_mfa::clock::ManualClock;
use tower_mfa::{
    AppOnly, Builder, ChallengeStyle, ClaimsChallenge, ConfigError, MfaPolicy, Requirement, Rule,
};

const AUTHORIZE: &str = "https://login.microsoftonline.com/common/oauth2/authorize";

/// RFC 9470 answer asking for the `c2` authentication context.
const BILLING_RFC9470: &str = "Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", acr_values=\"c2\"";
/// RFC 9470 answer asking for a sign-in at most five minutes old.
const ADMIN_RFC9470: &str = "Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", max_age=\"300\"";

/// Entra's claims challenge for `c2`: the claims request is
/// `{"access_token":{"acrs":{"essential":true,"value":"c2"}}}` in base64.
fn billing_claims_challenge() -> String {
    use base64::Engine;
    let claims = base64::engine::general_purpose::STANDARD
        .encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c2"}}}"#);
    format!(
        "Bearer realm=\"\", authorization_uri=\"{AUTHORIZE}\", error=\"insufficient_claims\", claims=\"{claims}\""
    )
}

fn billing() -> Requirement {
    Requirement::mfa()
        .mfa_policy(MfaPolicy::new().require_auth_contexts(["c2"]))
        .challenge_style(ChallengeStyle::Rfc9470 {
            acr_values: Some("c2".into()),
            max_age: None,
        })
        .entra_claims_challenge(ClaimsChallenge {
            authorization_uri: AUTHORIZE.into(),
            auth_context: "c2".into(),
        })
        .app_only(AppOnly::Deny)
}

fn admin() -> Requirement {
    Requirement::mfa()
        .mfa_policy(MfaPolicy::new().max_age(Duration::from_secs(300)))
        .challenge_style(ChallengeStyle::Rfc9470 {
            acr_values: None,
            max_age: Some(300),
        })
}

/// The partner API of the issue, in code.
fn in_code(clock: &ManualClock) -> Builder {
    static_builder(&[mint::rsa_key()])
        .clock(clock.clone())
        .requirement("billing", billing())
        .requirement("admin", admin())
        .rule(Rule::mfa("/v1/billing/**").requirement("billing"))
        .rule(Rule::mfa("/admin/**").requirement("admin"))
        .rule(
            Rule::mfa("/admin-preview/**")
                .requirement("admin")
                .report_only(),
        )
        .rule(Rule::mfa("/v1/customers/**"))
}

/// The same partner API as a configuration file (keys from code).
const PARTNER_API: &str = r#"
issuer = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/"
audiences = ["https://api.partnercenter.microsoft.com"]

[requirements.billing]
app_only = "deny"
mfa = { require_auth_contexts = ["c2"] }
challenge = { style = "rfc9470", acr_values = "c2" }
entra_claims_challenge = { authorization_uri = "https://login.microsoftonline.com/common/oauth2/authorize", auth_context = "c2" }

[requirements.admin]
mfa = { max_age_seconds = 300 }
challenge = { style = "rfc9470", max_age_seconds = 300 }

[[rules]]
pattern = "/v1/billing/**"
access = "mfa"
requirement = "billing"

[[rules]]
pattern = "/admin/**"
access = "mfa"
requirement = "admin"

[[rules]]
pattern = "/admin-preview/**"
access = "mfa"
requirement = "admin"
mode = "report_only"

[[rules]]
pattern = "/v1/customers/**"
access = "mfa"
"#;

fn from_file(clock: &ManualClock) -> Builder {
    Builder::from_toml_str(PARTNER_API)
        .expect("valid file")
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("static JWKS")
        .clock(clock.clone())
}

/// A user token with this `amr`, signed in `age` seconds ago, with extra claims.
fn token(clock: &ManualClock, amr: &[&str], age: u64, extra: Value) -> String {
    let mut claims = user_at(clock, amr);
    claims["auth_time"] = (secs(clock) - age).into();
    if let (Value::Object(map), Value::Object(more)) = (&mut claims, extra) {
        map.extend(more);
    }
    mint::rsa_key().token(&claims)
}

/// What one route answers one token.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Pass,
    /// Partner Center's `401 Unauthorized - MFA required`.
    PartnerCenter,
    /// 401 with exactly this challenge (no reason phrase).
    Challenge(String),
}

const CUSTOMERS: &str = "/v1/customers/6b2b5a2f";
const BILLING: &str = "/v1/billing/invoices";
const ADMIN: &str = "/admin/users";

/// The matrix: (token, route, expected answer).
fn matrix(clock: &ManualClock) -> Vec<(&'static str, String, &'static str, Expect)> {
    use Expect::*;
    let fresh = 60;
    let stale = 3600;
    let mfa = token(clock, &["pwd", "mfa"], fresh, json!({}));
    let mfa_stale = token(clock, &["pwd", "mfa"], stale, json!({}));
    let mfa_c2 = token(clock, &["pwd", "mfa"], fresh, json!({"acrs": ["c2"]}));
    let mfa_c1_cp1 = token(
        clock,
        &["pwd", "mfa"],
        fresh,
        json!({"acrs": ["c1"], "xms_cc": ["cp1"]}),
    );
    let pwd_c2_stale = token(clock, &["pwd"], stale, json!({"acrs": ["c2"]}));
    let pwd = token(clock, &["pwd"], fresh, json!({}));
    let pwd_cp1 = token(clock, &["pwd"], fresh, json!({"xms_cc": ["CP1"]}));
    let claims = billing_claims_challenge();
    vec![
        ("mfa, fresh", mfa.clone(), CUSTOMERS, Pass),
        (
            "mfa, fresh",
            mfa.clone(),
            BILLING,
            Challenge(BILLING_RFC9470.into()),
        ),
        ("mfa, fresh", mfa, ADMIN, Pass),
        ("mfa, stale", mfa_stale.clone(), CUSTOMERS, Pass),
        (
            "mfa, stale",
            mfa_stale.clone(),
            BILLING,
            Challenge(BILLING_RFC9470.into()),
        ),
        (
            "mfa, stale",
            mfa_stale,
            ADMIN,
            Challenge(ADMIN_RFC9470.into()),
        ),
        ("mfa + c2", mfa_c2.clone(), CUSTOMERS, Pass),
        ("mfa + c2", mfa_c2.clone(), BILLING, Pass),
        ("mfa + c2", mfa_c2, ADMIN, Pass),
        ("mfa + c1, cp1", mfa_c1_cp1.clone(), CUSTOMERS, Pass),
        (
            "mfa + c1, cp1",
            mfa_c1_cp1.clone(),
            BILLING,
            Challenge(claims.clone()),
        ),
        ("mfa + c1, cp1", mfa_c1_cp1, ADMIN, Pass),
        (
            "pwd + c2, stale",
            pwd_c2_stale.clone(),
            CUSTOMERS,
            PartnerCenter,
        ),
        ("pwd + c2, stale", pwd_c2_stale.clone(), BILLING, Pass),
        (
            "pwd + c2, stale",
            pwd_c2_stale,
            ADMIN,
            Challenge(ADMIN_RFC9470.into()),
        ),
        ("pwd", pwd.clone(), CUSTOMERS, PartnerCenter),
        (
            "pwd",
            pwd.clone(),
            BILLING,
            Challenge(BILLING_RFC9470.into()),
        ),
        ("pwd", pwd, ADMIN, Challenge(ADMIN_RFC9470.into())),
        ("pwd, cp1", pwd_cp1.clone(), CUSTOMERS, PartnerCenter),
        ("pwd, cp1", pwd_cp1.clone(), BILLING, Challenge(claims)),
        ("pwd, cp1", pwd_cp1, ADMIN, Challenge(ADMIN_RFC9470.into())),
    ]
}

#[track_caller]
fn check(what: &str, path: &str, reply: &Reply, expect: &Expect) {
    let at = format!("{what} on {path}: {reply:?}");
    match expect {
        Expect::Pass => {
            assert_eq!(reply.status, StatusCode::OK, "{at}");
            assert!(reply.reached(), "{at}");
        }
        Expect::PartnerCenter => {
            reply.assert_refused(StatusCode::UNAUTHORIZED, Some(MFA_PARTNER_CENTER));
            assert_eq!(
                reply.reason.as_deref(),
                Some("Unauthorized - MFA required"),
                "{at}"
            );
        }
        Expect::Challenge(challenge) => {
            reply.assert_refused(StatusCode::UNAUTHORIZED, Some(challenge));
            assert_eq!(reply.reason, None, "{at}");
            assert_eq!(reply.json()["status"], 401, "{at}");
        }
    }
}

#[tokio::test]
async fn three_routes_three_requirements() {
    let clock = clock();
    let h = Harness::new(in_code(&clock));
    for (what, token, path, expect) in matrix(&clock) {
        check(what, path, &h.get(path, &token).await, &expect);
    }
}

#[tokio::test]
async fn the_file_says_what_the_code_says() {
    let clock = clock();
    let code = Harness::new(in_code(&clock));
    let file = Harness::new(from_file(&clock));
    let app = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    let mut cases = matrix(&clock);
    cases.push(("app-only", app.clone(), BILLING, Expect::Pass));
    cases.push(("app-only", app, CUSTOMERS, Expect::Pass));
    for (what, token, path, expect) in cases {
        let a = code.get(path, &token).await;
        let b = file.get(path, &token).await;
        if what != "app-only" {
            check(what, path, &b, &expect);
        }
        assert_eq!(
            (a.status, a.challenge(), &a.body, &a.reason, a.reached()),
            (b.status, b.challenge(), &b.body, &b.reason, b.reached()),
            "{what} on {path}"
        );
    }
}

#[tokio::test]
async fn app_only_answer_is_per_requirement() {
    let clock = clock();
    let h = Harness::new(in_code(&clock));
    let app = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    h.get(CUSTOMERS, &app).await.assert_passed();
    h.get(BILLING, &app).await.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", error_description=\"App-only tokens are not accepted here\""),
    );
}

#[tokio::test]
async fn report_only_rule_with_a_named_requirement() {
    let clock = clock();
    let h = Harness::new(in_code(&clock));
    let stale = token(&clock, &["pwd", "mfa"], 3600, json!({}));
    // Enforced on /admin, reported on /admin-preview: same requirement.
    check(
        "stale",
        ADMIN,
        &h.get(ADMIN, &stale).await,
        &Expect::Challenge(ADMIN_RFC9470.into()),
    );
    let reply = h.get("/admin-preview/users", &stale).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-reported"), Some("mfa_too_old"));
    assert_eq!(reply.header("x-rule"), Some("/admin-preview/**"));
    let fresh = token(&clock, &["pwd", "mfa"], 10, json!({}));
    let reply = h.get("/admin-preview/users", &fresh).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-reported"), None);
}

#[tokio::test]
async fn the_default_requirement_is_todays_behaviour() {
    let clock = clock();
    // The builder's shorthands set the default requirement.
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .challenge_style(ChallengeStyle::Rfc9470 {
                acr_values: Some("c1".into()),
                max_age: None,
            })
            .requirement("billing", billing())
            .rule(Rule::mfa("/v1/billing/**").requirement("billing"))
            .rule(Rule::mfa("/v1/**")),
    );
    let pwd = token(&clock, &["pwd"], 10, json!({}));
    h.get(CUSTOMERS, &pwd).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", acr_values=\"c1\""),
    );
    h.get(BILLING, &pwd)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some(BILLING_RFC9470));
}

fn invalid(err: ConfigError) -> (String, String, String) {
    match err {
        ConfigError::Invalid {
            setting,
            value,
            problem,
            ..
        } => (setting, value, problem),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn unknown_requirement_names_the_rule() {
    let err = static_builder(&[mint::rsa_key()])
        .requirement("billing", billing())
        .rule(Rule::public("/healthz"))
        .rule(Rule::mfa("/v1/admin/**").name("admin").requirement("admn"))
        .build()
        .expect_err("unknown requirement");
    let (setting, value, problem) = invalid(err.clone());
    assert_eq!(setting, "rules[1].requirement");
    assert_eq!(value, "admn");
    assert!(
        problem.contains("\"admin\"") && problem.contains("\"admn\""),
        "{problem}"
    );
    assert!(err.to_string().contains("admn"), "{err}");

    let file = r#"
[[rules]]
pattern = "/v1/billing/**"
access = "mfa"
requirement = "biling"
"#;
    let err = Builder::from_toml_str(file)
        .expect("parses")
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("static JWKS")
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .build()
        .expect_err("unknown requirement");
    let (setting, value, problem) = invalid(err);
    assert_eq!(
        (setting.as_str(), value.as_str()),
        ("rules[0].requirement", "biling")
    );
    assert!(problem.contains("\"/v1/billing/**\""), "{problem}");
}

#[test]
fn a_requirement_on_a_rule_that_is_not_mfa_is_refused() {
    let err = static_builder(&[mint::rsa_key()])
        .requirement("billing", billing())
        .rule(Rule::authenticated("/v1/billing/**").requirement("billing"))
        .build()
        .expect_err("not an mfa rule");
    let (setting, value, _) = invalid(err);
    assert_eq!(
        (setting.as_str(), value.as_str()),
        ("rules[0].requirement", "billing")
    );
}

#[test]
fn a_named_requirement_is_checked_like_the_default() {
    let err = static_builder(&[mint::rsa_key()])
        .requirement(
            "admin",
            Requirement::mfa().challenge_style(ChallengeStyle::Rfc9470 {
                acr_values: None,
                max_age: None,
            }),
        )
        .build()
        .expect_err("RFC 9470 without parameters");
    assert_eq!(invalid(err).0, "requirements.admin.challenge_style");
    let err = static_builder(&[mint::rsa_key()])
        .requirement("admin", Requirement::mfa().step_up_url("not a url"))
        .build()
        .expect_err("bad step-up URL");
    assert_eq!(invalid(err).0, "requirements.admin.step_up_url");
}
