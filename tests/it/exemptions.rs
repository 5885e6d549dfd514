//! Exemptions (Partner Center's "technical exception requests"):
//! by tenant, user or app, with an expiry on the layer's clock, applied only
//! after the token was verified and only on `mfa` routes for callers without
//! MFA proof, reloadable without rebuilding the layer, and audited.
use crate::logs::capture;
use crate::mint;

use crate::harness;

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use harness::{Reply, clock, static_builder, user_at};
use http::{Request, Response, StatusCode};
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_mfa::clock::{Clock, ManualClock};
use tower_mfa::{AppOnly, Builder, Decision, ExemptSubject, Exemption, Exemptions, Rule};

const OID: &str = "4988e250-5aee-482a-9136-6d269cb755c0";
const APP_ID: &str = "23ec45a3-5127-4185-9eff-c8887839e6ab";
const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// The inner service: the harness's marked answer plus the exemption used.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut response = harness::inner_response(&req);
    let exemption = req
        .extensions()
        .get::<Decision>()
        .map_or("no-decision".to_owned(), |d| {
            d.exemption().unwrap_or("none").to_owned()
        });
    response
        .headers_mut()
        .insert("x-exemption", exemption.parse().unwrap());
    Ok(response)
}

/// A built layer in front of [`echo`].
struct App {
    layer: tower_mfa::RequireMfaLayer,
}

impl App {
    fn new(builder: Builder) -> Self {
        Self {
            layer: builder.build().expect("valid configuration"),
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        let service = self.layer.layer(tower::service_fn(echo));
        let response = service
            .oneshot(harness::get(path, Some(token)))
            .await
            .expect("infallible");
        Reply::read(response).await
    }
}

fn rules() -> Vec<Rule> {
    vec![
        Rule::public("/healthz"),
        Rule::mfa("/v1/invoices/**").require_scope("Invoices.Read"),
        Rule::mfa("/v1/**"),
        Rule::authenticated("/dashboard"),
    ]
}

fn builder(clock: &ManualClock, exemptions: &Exemptions) -> Builder {
    static_builder(&[mint::rsa_key()])
        .clock(clock.clone())
        .rules(rules())
        .exemptions(exemptions.clone())
}

fn in_a_day(clock: &ManualClock) -> SystemTime {
    clock.now() + Duration::from_secs(86_400)
}

fn password_only(clock: &ManualClock) -> String {
    mint::rsa_key().token(&user_at(clock, &["pwd"]))
}

#[track_caller]
fn assert_exempted(reply: &Reply, id: &str) {
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some(id), "{reply:?}");
    assert_eq!(reply.header("x-mfa"), Some("none"));
    assert_eq!(reply.header("x-caller"), Some("user"));
}

// ------------------------------------------------------------- the subjects

#[tokio::test]
async fn tenant_user_and_app_exemptions_let_a_password_only_user_through() {
    let clock = clock();
    let until = in_a_day(&clock);
    for exemption in [
        Exemption::tenant("EXC-T", mint::TENANT, "tenant-wide robot", until),
        // Tenant ids are GUIDs: compared case-insensitively.
        Exemption::tenant(
            "EXC-T-UPPER",
            mint::TENANT.to_ascii_uppercase(),
            "same",
            until,
        ),
        Exemption::user("EXC-U", OID, "MFA registration pending", until),
        // An app exemption covers users only when it says `delegated`.
        Exemption::app("EXC-A", APP_ID, "legacy export", until).delegated(true),
        // Limited to the user's own tenant.
        Exemption::user("EXC-U-T", OID, "r", until).in_tenant(mint::TENANT),
        Exemption::app("EXC-A-T", APP_ID, "r", until)
            .delegated(true)
            .in_tenant(mint::TENANT.to_ascii_uppercase()),
    ] {
        let id = exemption.id.clone();
        let set = Exemptions::new(vec![exemption]);
        let app = App::new(builder(&clock, &set));
        let reply = app.get("/v1/customers", &password_only(&clock)).await;
        assert_exempted(&reply, &id);
    }
}

#[tokio::test]
async fn exemptions_for_someone_else_do_not_apply() {
    let clock = clock();
    let until = in_a_day(&clock);
    let set = Exemptions::new(vec![
        Exemption::tenant("T", OTHER_TENANT, "r", until),
        Exemption::user("U", "00000000-0000-0000-0000-000000000001", "r", until),
        // Client ids are compared exactly.
        Exemption::app("A", APP_ID.to_ascii_uppercase(), "r", until),
    ]);
    let app = App::new(builder(&clock, &set));
    app.get("/v1/customers", &password_only(&clock))
        .await
        .assert_mfa_required();
}

#[tokio::test]
async fn an_app_exemption_covers_the_apps_own_tokens_not_its_users() {
    let clock = clock();
    let until = in_a_day(&clock);
    let set = Exemptions::new(vec![Exemption::app("EXC-A", APP_ID, "daemon", until)]);
    let app = App::new(builder(&clock, &set).app_only(AppOnly::RequireMfa));
    // A password-only user signing in through that client, from the
    // issuer's tenant or another one: no exemption.
    app.get("/v1/customers", &password_only(&clock))
        .await
        .assert_mfa_required();
    let mut other = user_at(&clock, &["pwd"]);
    other["tid"] = json!(OTHER_TENANT);
    other["oid"] = json!("00000000-0000-0000-0000-000000000009");
    app.get("/v1/customers", &mint::rsa_key().token(&other))
        .await
        .assert_mfa_required();
    // `idtyp: app` does not make that user an app.
    other["idtyp"] = json!("app");
    app.get("/v1/customers", &mint::rsa_key().token(&other))
        .await
        .assert_mfa_required();
    // The app's own app-only token is exempted.
    let token = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    let reply = app.get("/v1/customers", &token).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some("EXC-A"));
    // Delegated, but limited to one tenant: the other tenant's user is not
    // covered.
    let limited = Exemptions::new(vec![
        Exemption::app("EXC-D", APP_ID, "r", until)
            .delegated(true)
            .in_tenant(mint::TENANT),
    ]);
    let app = App::new(builder(&clock, &limited));
    other["idtyp"] = json!("user");
    app.get("/v1/customers", &mint::rsa_key().token(&other))
        .await
        .assert_mfa_required();
    assert_exempted(
        &app.get("/v1/customers", &password_only(&clock)).await,
        "EXC-D",
    );
    // A user exemption limited to another tenant does not apply.
    let elsewhere = Exemptions::new(vec![
        Exemption::user("EXC-U", OID, "r", until).in_tenant(OTHER_TENANT),
    ]);
    App::new(builder(&clock, &elsewhere))
        .get("/v1/customers", &password_only(&clock))
        .await
        .assert_mfa_required();
}

#[tokio::test]
async fn app_exemptions_match_azp_and_client_id_too() {
    let clock = clock();
    let set = Exemptions::new(vec![
        Exemption::app("EXC-A", "spa-client", "r", in_a_day(&clock)).delegated(true),
    ]);
    let app = App::new(builder(&clock, &set));
    for claim in ["azp", "client_id"] {
        let mut claims = user_at(&clock, &["pwd"]);
        claims.as_object_mut().unwrap().remove("appid");
        claims[claim] = json!("spa-client");
        let reply = app
            .get("/v1/customers", &mint::rsa_key().token(&claims))
            .await;
        assert_exempted(&reply, "EXC-A");
    }
}

#[tokio::test]
async fn a_caller_with_mfa_passes_as_usual_without_using_the_exemption() {
    let clock = clock();
    let set = Exemptions::new(vec![Exemption::user("EXC-U", OID, "r", in_a_day(&clock))]);
    let app = App::new(builder(&clock, &set));
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let reply = app.get("/v1/customers", &token).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some("none"));
    assert_eq!(reply.header("x-mfa"), Some("amr"));
    // Routes that need no MFA never use an exemption either.
    let reply = app.get("/dashboard", &password_only(&clock)).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some("none"));
}

#[tokio::test]
async fn guests_are_exempt_by_tid_only() {
    let clock = clock();
    let until = in_a_day(&clock);
    let mut guest = user_at(&clock, &["pwd"]);
    guest["idp"] = json!(format!("https://sts.windows.net/{OTHER_TENANT}/"));
    guest["acct"] = json!(1);
    let token = mint::rsa_key().token(&guest);
    // An exemption for the guest's home tenant (named by `idp`) does not apply.
    for value in [
        OTHER_TENANT.to_owned(),
        format!("https://sts.windows.net/{OTHER_TENANT}/"),
    ] {
        let set = Exemptions::new(vec![Exemption::tenant("HOME", value, "r", until)]);
        App::new(builder(&clock, &set))
            .get("/v1/customers", &token)
            .await
            .assert_mfa_required();
    }
    // One for the resource tenant (`tid`) does.
    let set = Exemptions::new(vec![Exemption::tenant("RES", mint::TENANT, "r", until)]);
    let reply = App::new(builder(&clock, &set))
        .get("/v1/customers", &token)
        .await;
    assert_exempted(&reply, "RES");
}

#[tokio::test]
async fn app_only_callers_required_to_prove_mfa_can_be_exempted() {
    let clock = clock();
    let set = Exemptions::new(vec![Exemption::app(
        "EXC-A",
        APP_ID,
        "daemon",
        in_a_day(&clock),
    )]);
    let token = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    let plain = App::new(builder(&clock, &Exemptions::default()).app_only(AppOnly::RequireMfa));
    plain
        .get("/v1/customers", &token)
        .await
        .assert_mfa_required();
    let app = App::new(builder(&clock, &set).app_only(AppOnly::RequireMfa));
    let reply = app.get("/v1/customers", &token).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some("EXC-A"));
    assert_eq!(reply.header("x-caller"), Some("app"));
    // `AppOnly::Deny` is a 403 like a missing role: no exemption lifts it.
    let deny = App::new(builder(&clock, &set).app_only(AppOnly::Deny));
    let reply = deny.get("/v1/customers", &token).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!reply.reached());
}

// ----------------------------------------------------------------- expiry

#[tokio::test]
async fn an_expired_exemption_never_applies() {
    let clock = clock();
    let set = Exemptions::new(vec![Exemption::user(
        "EXC-U",
        OID,
        "r",
        clock.now() + Duration::from_secs(60),
    )]);
    let app = App::new(builder(&clock, &set));
    let token = password_only(&clock);
    assert_exempted(&app.get("/v1/customers", &token).await, "EXC-U");
    clock.advance(Duration::from_secs(59));
    assert_exempted(&app.get("/v1/customers", &token).await, "EXC-U");
    // At the expiry instant it no longer applies (the token is still valid).
    clock.advance(Duration::from_secs(1));
    app.get("/v1/customers", &token).await.assert_mfa_required();
    app.get("/dashboard", &token).await.assert_passed();
    // One that expired before it was loaded never applies either.
    set.replace(vec![Exemption::user(
        "OLD",
        OID,
        "r",
        clock.now() - Duration::from_secs(1),
    )]);
    app.get("/v1/customers", &token).await.assert_mfa_required();
}

// -------------------------------------------------- what it never bypasses

#[tokio::test]
async fn an_exemption_never_rescues_a_bad_token_a_missing_scope_or_a_denied_tenant() {
    let clock = clock();
    let until = in_a_day(&clock);
    let set = Exemptions::new(vec![
        Exemption::tenant("T", mint::TENANT, "r", until),
        Exemption::user("U", OID, "r", until),
        Exemption::app("A", APP_ID, "r", until),
    ]);
    let app = App::new(builder(&clock, &set));
    let good = user_at(&clock, &["pwd"]);
    // Sanity: the exemption applies to the good token.
    assert_exempted(
        &app.get("/v1/customers", &mint::rsa_key().token(&good))
            .await,
        "T",
    );

    let mut expired = good.clone();
    expired["exp"] = json!(harness::secs(&clock) - 3600);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("api://someone-else");
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!(format!("https://sts.windows.net/{OTHER_TENANT}/"));
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(harness::secs(&clock) + 3600);
    let bad_tokens = [
        mint::rsa_key().token(&expired),
        mint::rsa_key().token(&wrong_audience),
        mint::rsa_key().token(&wrong_issuer),
        mint::rsa_key().token(&not_yet),
        // Signed by a key the issuer does not publish.
        mint::rsa_key2().token(&good),
        // A valid token with a tampered payload.
        {
            let token = mint::rsa_key().token(&good);
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = mint::b64(user_at(&clock, &["pwd", "mfa"]).to_string().as_bytes());
            parts[1] = &forged;
            parts.join(".")
        },
        "not-a-jwt".to_owned(),
    ];
    for token in &bad_tokens {
        app.get("/v1/customers", token).await.assert_invalid_token();
    }
    // No token at all: the bare challenge.
    let service = app.layer.layer(tower::service_fn(echo));
    let reply = Reply::read(
        service
            .oneshot(harness::get("/v1/customers", None))
            .await
            .unwrap(),
    )
    .await;
    reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));

    // A rule's required scope is checked first and never exempted.
    let reply = app
        .get("/v1/invoices/7", &mint::rsa_key().token(&good))
        .await;
    reply.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"Invoices.Read\""),
    );
    let mut scoped = good.clone();
    scoped["scp"] = json!("user_impersonation Invoices.Read");
    assert_exempted(
        &app.get("/v1/invoices/7", &mint::rsa_key().token(&scoped))
            .await,
        "T",
    );

    // A denied tenant stays denied, exemption or not.
    let denied = App::new(builder(&clock, &set).deny_tenants([mint::TENANT]));
    denied
        .get("/v1/customers", &mint::rsa_key().token(&good))
        .await
        .assert_invalid_token();
    let allow_other = App::new(builder(&clock, &set).allow_tenants([OTHER_TENANT]));
    allow_other
        .get("/v1/customers", &mint::rsa_key().token(&good))
        .await
        .assert_invalid_token();
}

// ----------------------------------------------------------------- reload

#[tokio::test]
async fn replace_takes_effect_on_the_next_request_without_rebuilding() {
    let clock = clock();
    let kept = Exemptions::default();
    let app = App::new(builder(&clock, &kept));
    let token = password_only(&clock);
    app.get("/v1/customers", &token).await.assert_mfa_required();

    kept.replace(vec![Exemption::user("EXC-1", OID, "r", in_a_day(&clock))]);
    assert_exempted(&app.get("/v1/customers", &token).await, "EXC-1");
    // The same token again (now from the verified-token cache): still
    // decided against the current list.
    assert_exempted(&app.get("/v1/customers", &token).await, "EXC-1");

    kept.replace(vec![
        Exemption::app("EXC-2", APP_ID, "r", in_a_day(&clock)).delegated(true),
    ]);
    assert_exempted(&app.get("/v1/customers", &token).await, "EXC-2");

    kept.replace(Vec::new());
    app.get("/v1/customers", &token).await.assert_mfa_required();
}

#[test]
fn the_builder_handle_shares_the_set() {
    let set = Exemptions::default();
    let builder = Builder::new().exemptions(set.clone());
    let handle = builder.exemptions_handle();
    handle.replace(vec![Exemption::new(
        "X",
        ExemptSubject::User("o".into()),
        "r",
        SystemTime::now(),
    )]);
    assert_eq!(set.len(), 1);
    assert_eq!(set.snapshot()[0].subject.kind(), "user");
}

// ------------------------------------------------------------------ audit

/// The audit lines of one exemption.
fn audit_lines<'l>(log: &'l str, id: &str) -> Vec<&'l str> {
    let id = format!("exemption_id={id}");
    log.lines()
        .filter(|l| l.contains(" tower_mfa::audit: ") && l.contains(&id))
        .collect()
}

#[tokio::test]
async fn every_use_is_audited_and_the_log_holds_no_token() {
    let buffer = capture();
    let clock = clock();
    let set = Exemptions::new(vec![Exemption::user(
        "EXC-2025-014",
        OID,
        "MFA registration pending",
        in_a_day(&clock),
    )]);
    let app = App::new(builder(&clock, &set));
    let token = password_only(&clock);
    for _ in 0..2 {
        assert_exempted(&app.get("/v1/customers", &token).await, "EXC-2025-014");
    }
    // Not audited: a caller with MFA, a route without MFA, a refusal.
    let with_mfa = mint::rsa_key().token(&user_at(&clock, &["mfa"]));
    app.get("/v1/customers", &with_mfa).await.assert_passed();
    app.get("/dashboard", &token).await.assert_passed();
    let mut expired = user_at(&clock, &["pwd"]);
    expired["exp"] = json!(harness::secs(&clock) - 3600);
    let expired = mint::rsa_key().token(&expired);
    app.get("/v1/customers", &expired)
        .await
        .assert_invalid_token();

    let log = buffer.text();
    let audit = audit_lines(&log, "EXC-2025-014");
    assert_eq!(audit.len(), 2, "one audit event per use:\n{log}");
    for line in &audit {
        assert!(line.contains("WARN"), "{line}");
        for needle in [
            "exemption_id=EXC-2025-014",
            "reason=\"MFA registration pending\"",
            "subject=\"user\"",
            "suppressed=\"no_mfa_proof\"",
            "rule=/v1/**",
            &format!("tenant={}", mint::TENANT),
            &format!("oid={OID}"),
            &format!("app_id={APP_ID}"),
        ] {
            assert!(line.contains(needle), "{needle} missing in {line}");
        }
    }
    // The decision event names the exemption too.
    assert!(
        log.lines().any(|l| l.contains("tower_mfa::decision")
            && l.contains("outcome=\"allow\"")
            && l.contains("exemption=EXC-2025-014")),
        "{log}"
    );
    // No token, and no token segment, anywhere in the log.
    for t in [&token, &with_mfa, &expired] {
        for segment in t.split('.') {
            assert!(!log.contains(segment), "a token segment was logged");
        }
    }
}

#[tokio::test]
async fn audited_claim_values_are_escaped() {
    let buffer = capture();
    let clock = clock();
    let hostile_oid = "o\r\nFAKE tower_mfa::audit exemption_id=FORGED";
    let set = Exemptions::new(vec![Exemption::user(
        "EXC-E",
        hostile_oid,
        "line\nbreak",
        in_a_day(&clock),
    )]);
    let app = App::new(builder(&clock, &set));
    let mut claims = user_at(&clock, &["pwd"]);
    claims["oid"] = json!(hostile_oid);
    assert_exempted(
        &app.get("/v1/customers", &mint::rsa_key().token(&claims))
            .await,
        "EXC-E",
    );
    let log = buffer.text();
    let audit = audit_lines(&log, "EXC-E");
    assert_eq!(audit.len(), 1, "{log}");
    assert!(audit[0].contains("oid=o\\r\\nFAKE"), "{}", audit[0]);
    assert!(audit[0].contains("reason=\"line\\nbreak\""), "{}", audit[0]);
    assert!(
        !log.lines().any(|l| l.starts_with("FAKE")),
        "a claim value broke a log line:\n{log}"
    );
}
