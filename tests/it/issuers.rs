//! Several issuers behind one layer: the token's `iss` picks exactly one,
//! each has its own keys, fetches and outage state, and a key verifies only
//! tokens of the issuer (and, with Entra's per-key `issuer`, the tenant) that
//! published it.

use crate::{harness, logs, mint};

use http::StatusCode;
use serde_json::{Value, json};
use tower_mfa::{ConfigError, Issuer, RequireMfaLayer};

use harness::{Harness, clock, user_at};
use mint::{AUDIENCE, Answer, JwksServer, TestKey, jwks, rsa_key, rsa_key2};

/// This test's part of the binary's log (its thread's lines since it
/// started), to read the reason codes of refusals (responses never carry
/// them).
struct Log {
    buffer: logs::Buffer,
    start: usize,
    thread: String,
}

/// How the log names this thread: `ThreadId(02)` (at least two digits).
fn thread_tag() -> String {
    let id = format!("{:?}", std::thread::current().id());
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    format!("ThreadId({digits:0>2})")
}

impl Log {
    fn start() -> Self {
        let buffer = logs::capture();
        let start = buffer.len();
        Self {
            buffer,
            start,
            thread: thread_tag(),
        }
    }

    /// Every line this test's thread logged.
    fn text(&self) -> String {
        self.buffer
            .text_since(self.start)
            .lines()
            .filter(|l| l.contains(&self.thread))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The reason code of the last refusal logged.
    fn reason(&self) -> Option<String> {
        let text = self.text();
        let line = text
            .lines()
            .rev()
            .find(|l| l.contains("tower_mfa::decision") && l.contains(" reason="))?;
        let (_, rest) = line.split_once(" reason=")?;
        Some(rest.split_whitespace().next()?.trim_matches('"').to_owned())
    }
}

const A: &str = "https://idp-a.example/";
const B: &str = "https://idp-b.example/";
const TENANT_A: &str = "df845f1a-7b35-40a2-ba78-6481de91f8ae";
const TENANT_B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const V1: &str = "https://sts.windows.net/{tenantid}/";
const V2: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

fn v1(tenant: &str) -> String {
    V1.replace("{tenantid}", tenant)
}

fn v2(tenant: &str) -> String {
    V2.replace("{tenantid}", tenant)
}

/// Claims valid at the harness clock, from `iss`, of tenant `tid`.
fn claims(c: &tower_mfa::clock::ManualClock, iss: &str, tid: &str) -> Value {
    let mut claims = user_at(c, &["pwd", "mfa"]);
    claims["iss"] = iss.into();
    claims["tid"] = tid.into();
    claims
}

/// A JWK Set of one key carrying Entra's per-key `issuer` member.
fn jwks_with_issuer(key: &TestKey, issuer: &str) -> Value {
    let mut jwk = key.jwk();
    jwk["issuer"] = issuer.into();
    json!({ "keys": [jwk] })
}

fn fetched(name: &str, url: String) -> Issuer {
    Issuer::new(name, name_issuer(name))
        .audience(AUDIENCE)
        .jwks_url(url)
}

fn name_issuer(name: &str) -> &'static str {
    if name == "idp-a" { A } else { B }
}

/// Two JWKS servers, `idp-a` publishing `rsa-1` and `idp-b` `rsa-2`.
async fn two_servers() -> (
    JwksServer,
    JwksServer,
    Harness,
    tower_mfa::clock::ManualClock,
) {
    let a = JwksServer::start(jwks(&[rsa_key()])).await;
    let b = JwksServer::start(jwks(&[rsa_key2()])).await;
    let c = clock();
    let h = Harness::new(
        RequireMfaLayer::builder()
            .trust(fetched("idp-a", a.jwks_url()))
            .trust(fetched("idp-b", b.jwks_url()))
            .allow_http_loopback(true)
            .clock(c.clone()),
    );
    (a, b, h, c)
}

#[tokio::test]
async fn each_issuer_passes_with_its_own_keys() {
    let (a, b, h, c) = two_servers().await;
    let reply = h
        .get("/x", &rsa_key().token(&claims(&c, A, TENANT_A)))
        .await;
    reply.assert_passed();
    assert_eq!(reply.header("x-issuer"), Some("idp-a"));
    let reply = h
        .get("/x", &rsa_key2().token(&claims(&c, B, TENANT_A)))
        .await;
    reply.assert_passed();
    assert_eq!(reply.header("x-issuer"), Some("idp-b"));
    // One fetch per issuer, each from its own server.
    assert_eq!((a.jwks_hits(), b.jwks_hits()), (1, 1));
    assert_eq!(h.layer.key_fetches_of("idp-a"), Some(1));
    assert_eq!(h.layer.key_fetches_of("idp-b"), Some(1));
    assert_eq!(h.layer.key_fetches_of("idp-c"), None);
    assert_eq!(h.layer.key_fetches(), 2);
    assert_eq!(h.layer.issuers().collect::<Vec<_>>(), ["idp-a", "idp-b"]);
}

#[tokio::test]
async fn a_token_signed_with_the_other_issuers_key_is_refused_without_fetching_there() {
    let log = Log::start();
    let (a, b, h, c) = two_servers().await;
    // Claims to be idp-a's, signed with idp-b's key `rsa-2`.
    let forged = rsa_key2().token(&claims(&c, A, TENANT_A));
    let reply = h.get("/x", &forged).await;
    reply.assert_invalid_token();
    assert_eq!(log.reason().as_deref(), Some("unknown_kid"));
    assert_eq!(
        b.jwks_hits(),
        0,
        "the other issuer's keys are never fetched"
    );
    assert_eq!(a.jwks_hits(), 1);
    assert_eq!(h.layer.key_fetches_of("idp-b"), Some(0));
    assert_eq!(h.inner.calls(), 0);
    // The other way round too, once idp-b's keys are cached.
    h.get("/x", &rsa_key2().token(&claims(&c, B, TENANT_A)))
        .await
        .assert_passed();
    let forged = rsa_key().token(&claims(&c, B, TENANT_A));
    h.get("/x", &forged).await.assert_invalid_token();
}

#[tokio::test]
async fn a_kid_that_both_issuers_use_names_a_different_key_at_each() {
    let log = Log::start();
    let shared_a = TestKey::es256("shared");
    let shared_b = TestKey::es256("shared");
    let a = JwksServer::start(jwks(&[&shared_a])).await;
    let b = JwksServer::start(jwks(&[&shared_b])).await;
    let c = clock();
    let h = Harness::new(
        RequireMfaLayer::builder()
            .trust(fetched("idp-a", a.jwks_url()))
            .trust(fetched("idp-b", b.jwks_url()))
            .allow_http_loopback(true)
            .clock(c.clone()),
    );
    h.layer.warm_up().await;
    h.get("/x", &shared_a.token(&claims(&c, A, TENANT_A)))
        .await
        .assert_passed();
    h.get("/x", &shared_b.token(&claims(&c, B, TENANT_A)))
        .await
        .assert_passed();
    // idp-b's "shared" key never verifies a token claiming idp-a.
    let reply = h.get("/x", &shared_b.token(&claims(&c, A, TENANT_A))).await;
    reply.assert_invalid_token();
    assert_eq!(log.reason().as_deref(), Some("bad_signature"));
    h.get("/x", &shared_a.token(&claims(&c, B, TENANT_A))).await;
    assert_eq!(log.reason().as_deref(), Some("bad_signature"));
    assert_eq!((a.jwks_hits(), b.jwks_hits()), (1, 1));
}

#[tokio::test]
async fn an_unknown_issuer_is_refused_before_any_key_is_fetched() {
    let log = Log::start();
    let (a, b, h, c) = two_servers().await;
    for iss in ["https://idp-c.example/", "https://idp-a.example", ""] {
        let reply = h
            .get("/x", &rsa_key().token(&claims(&c, iss, TENANT_A)))
            .await;
        reply.assert_invalid_token();
        assert_eq!(log.reason().as_deref(), Some("wrong_issuer"), "{iss:?}");
    }
    let mut no_iss = claims(&c, A, TENANT_A);
    no_iss.as_object_mut().unwrap().remove("iss");
    h.get("/x", &rsa_key().token(&no_iss)).await;
    assert_eq!(log.reason().as_deref(), Some("wrong_issuer"));
    let mut number = claims(&c, A, TENANT_A);
    number["iss"] = 7.into();
    h.get("/x", &rsa_key().token(&number)).await;
    assert_eq!(log.reason().as_deref(), Some("claim_type"));
    assert_eq!((a.jwks_hits(), b.jwks_hits()), (0, 0));
    assert_eq!(h.layer.key_fetches(), 0);
}

#[tokio::test]
async fn one_issuer_down_never_touches_the_others_tokens() {
    let log = Log::start();
    let (a, b, h, c) = two_servers().await;
    b.set(Answer::Raw(500, b"down".to_vec()));
    let good = rsa_key().token(&claims(&c, A, TENANT_A));
    let reply = h.get("/x", &good).await;
    reply.assert_passed();
    let reply = h
        .get("/x", &rsa_key2().token(&claims(&c, B, TENANT_A)))
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(log.reason().as_deref(), Some("keys_unreachable"));
    // The fetch failure names the issuer by its short name, never its URL.
    let failed = log
        .text()
        .lines()
        .find(|l| l.contains("key set fetch failed"))
        .map(str::to_owned)
        .expect("the failed fetch is logged");
    assert!(failed.contains("issuer=idp-b"), "{failed}");
    assert!(!failed.contains(&b.base()), "{failed}");
    // idp-a keeps passing, from its own keys, with no further fetch.
    for _ in 0..3 {
        h.get("/x", &rsa_key().token(&claims(&c, A, TENANT_B)))
            .await
            .assert_passed();
    }
    assert_eq!(a.jwks_hits(), 1);
    assert_eq!(h.layer.cached_keys_of("idp-a"), Some(1));
    assert_eq!(h.layer.cached_keys_of("idp-b"), Some(0));
    // idp-b recovers once its server does (after its own cooldown).
    b.set(Answer::Json(jwks(&[rsa_key2()])));
    c.advance(std::time::Duration::from_secs(31));
    h.get("/x", &rsa_key2().token(&claims(&c, B, TENANT_A)))
        .await
        .assert_passed();
}

/// Entra publishes one key set for v1 and v2 tokens; a key carries the
/// `{tenantid}` template or one tenant's issuer.
fn entra(keys: Value) -> Harness {
    let c = clock();
    let keys = keys.to_string();
    Harness::new(
        RequireMfaLayer::builder()
            .trust(
                Issuer::new("entra-v1", V1)
                    .audience(AUDIENCE)
                    .static_jwks(keys.as_bytes())
                    .unwrap(),
            )
            .trust(
                Issuer::new("entra-v2", V2)
                    .audience(AUDIENCE)
                    .static_jwks(keys.as_bytes())
                    .unwrap(),
            )
            .clock(c),
    )
}

#[tokio::test]
async fn entra_v1_and_v2_tokens_of_one_tenant_with_a_template_key() {
    let log = Log::start();
    let h = entra(jwks_with_issuer(rsa_key(), V2));
    let c = clock();
    for (iss, name) in [(v1(TENANT_A), "entra-v1"), (v2(TENANT_A), "entra-v2")] {
        let reply = h
            .get("/x", &rsa_key().token(&claims(&c, &iss, TENANT_A)))
            .await;
        reply.assert_passed();
        assert_eq!(reply.header("x-issuer"), Some(name));
    }
    for iss in [v1(TENANT_B), v2(TENANT_B)] {
        h.get("/x", &rsa_key().token(&claims(&c, &iss, TENANT_B)))
            .await
            .assert_passed();
    }
    // The template still requires `tid` to equal the issuer's tenant.
    h.get("/x", &rsa_key().token(&claims(&c, &v2(TENANT_A), TENANT_B)))
        .await;
    assert_eq!(log.reason().as_deref(), Some("wrong_tenant"));
}

#[tokio::test]
async fn a_key_bound_to_tenant_a_never_verifies_tenant_b() {
    let log = Log::start();
    // The outside finding: a key published for tenant A verified a token of
    // tenant B (200 where 401 was due).
    let h = entra(jwks_with_issuer(rsa_key(), &v2(TENANT_A)));
    let c = clock();
    // Tenant A, in both forms (v1 and v2 of one tenant match each other).
    for iss in [v1(TENANT_A), v2(TENANT_A)] {
        h.get("/x", &rsa_key().token(&claims(&c, &iss, TENANT_A)))
            .await
            .assert_passed();
    }
    for iss in [v1(TENANT_B), v2(TENANT_B)] {
        let reply = h
            .get("/x", &rsa_key().token(&claims(&c, &iss, TENANT_B)))
            .await;
        reply.assert_invalid_token();
        assert_eq!(
            log.reason().as_deref(),
            Some("key_issuer_mismatch"),
            "{iss}"
        );
    }
    // Bound by its v1 form: the same.
    let h = entra(jwks_with_issuer(rsa_key(), &v1(TENANT_A)));
    h.get("/x", &rsa_key().token(&claims(&c, &v2(TENANT_A), TENANT_A)))
        .await
        .assert_passed();
    h.get("/x", &rsa_key().token(&claims(&c, &v2(TENANT_B), TENANT_B)))
        .await;
    assert_eq!(log.reason().as_deref(), Some("key_issuer_mismatch"));
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn a_key_whose_issuer_names_another_provider_is_refused() {
    let log = Log::start();
    let (keys, c) = (
        jwks_with_issuer(rsa_key(), "https://elsewhere.example/"),
        clock(),
    );
    let h = entra(keys);
    h.get("/x", &rsa_key().token(&claims(&c, &v2(TENANT_A), TENANT_A)))
        .await;
    assert_eq!(log.reason().as_deref(), Some("key_issuer_mismatch"));
    // A key whose `issuer` is not a string is unusable.
    let mut jwk = rsa_key().jwk();
    jwk["issuer"] = json!(["x"]);
    let h = entra(json!({ "keys": [jwk] }));
    h.get("/x", &rsa_key().token(&claims(&c, &v2(TENANT_A), TENANT_A)))
        .await;
    assert_eq!(log.reason().as_deref(), Some("unknown_kid"));
}

#[tokio::test]
async fn cache_entries_are_used_only_with_their_issuers_key() {
    let log = Log::start();
    let (a, _b, h, c) = two_servers().await;
    let token = rsa_key().token(&claims(&c, A, TENANT_A));
    h.get("/x", &token).await.assert_passed();
    h.get("/x", &token).await.assert_passed();
    assert_eq!(h.layer.token_cache_stats().map(|s| s.0), Some(1));
    // idp-a rotates `rsa-1` out: the cached token is verified afresh and refused.
    a.set_jwks(jwks(&[rsa_key2()]));
    h.layer.warm_up().await;
    assert_eq!(a.jwks_hits(), 2);
    let reply = h.get("/x", &token).await;
    reply.assert_invalid_token();
    assert_eq!(log.reason().as_deref(), Some("unknown_kid"));
}

fn build_err(b: tower_mfa::Builder) -> ConfigError {
    b.build().expect_err("the configuration is refused")
}

fn static_issuer(name: &str, iss: &str) -> Issuer {
    Issuer::new(name, iss)
        .audience(AUDIENCE)
        .static_jwks(jwks(&[rsa_key()]).to_string().as_bytes())
        .unwrap()
}

#[test]
fn issuers_that_could_match_one_iss_are_refused_at_build() {
    let exact_a = v2(TENANT_A);
    let cases = [
        (A, A),
        (V2, exact_a.as_str()),
        (exact_a.as_str(), V2),
        (V2, V2),
        ("https://login.microsoftonline.com/{tenantid}", V2),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/x{tenantid}/v2.0",
        ),
    ];
    for (first, second) in cases {
        let err = build_err(
            RequireMfaLayer::builder()
                .trust(static_issuer("one", first))
                .trust(static_issuer("two", second)),
        );
        match &err {
            ConfigError::OverlappingIssuers {
                first: f,
                second: s,
                ..
            } => {
                assert_eq!((f.as_str(), s.as_str()), ("one", "two"));
            }
            other => panic!("{first} / {second}: {other:?}"),
        }
        assert!(err.to_string().contains("\"one\""), "{err}");
        assert!(err.to_string().contains("\"two\""), "{err}");
    }
    // v1 and v2 templates, and unrelated exact issuers, side by side.
    for (first, second) in [(V1, V2), (A, B), (A, V2)] {
        RequireMfaLayer::builder()
            .trust(static_issuer("one", first))
            .trust(static_issuer("two", second))
            .build()
            .unwrap_or_else(|e| panic!("{first} / {second}: {e}"));
    }
}

#[test]
fn mixing_the_shorthand_with_issuers_and_bad_issuers_are_refused() {
    let both = RequireMfaLayer::builder()
        .issuer(A)
        .trust(static_issuer("one", B));
    assert!(matches!(
        build_err(both),
        ConfigError::Conflict {
            first: "issuer",
            second: "issuers",
            ..
        }
    ));
    let both = RequireMfaLayer::builder()
        .audience(AUDIENCE)
        .trust(static_issuer("one", B));
    assert!(matches!(
        build_err(both),
        ConfigError::Conflict {
            first: "audience",
            ..
        }
    ));
    let both = RequireMfaLayer::builder()
        .jwks_url("https://keys.example/")
        .trust(static_issuer("one", B));
    assert!(matches!(
        build_err(both),
        ConfigError::Conflict { first: "keys", .. }
    ));
    let both = RequireMfaLayer::builder()
        .allow_tenants([TENANT_A])
        .trust(static_issuer("one", B));
    assert!(matches!(
        build_err(both),
        ConfigError::Conflict {
            first: "tenants",
            ..
        }
    ));
    let dup = RequireMfaLayer::builder()
        .trust(static_issuer("one", A))
        .trust(static_issuer("one", B));
    assert_eq!(build_err(dup).setting(), Some("issuers[1].name"));
    for bad in ["", "has space", "https://x.example/", &"n".repeat(65)] {
        let err = build_err(RequireMfaLayer::builder().trust(static_issuer(bad, A)));
        assert_eq!(err.setting(), Some("issuers[0].name"), "{bad:?}");
    }
    let no_aud = Issuer::new("one", A).static_jwks(b"{\"keys\":[]}").unwrap();
    let err = build_err(RequireMfaLayer::builder().trust(no_aud));
    assert_eq!(err.setting(), Some("issuers[0].audiences"));
    let no_keys = Issuer::new("one", A).audience(AUDIENCE);
    let err = build_err(RequireMfaLayer::builder().trust(no_keys));
    assert_eq!(err.setting(), Some("issuers[0].keys"));
    let insecure = Issuer::new("one", A)
        .audience(AUDIENCE)
        .jwks_url("http://keys.example/");
    let err = build_err(RequireMfaLayer::builder().trust(insecure));
    assert_eq!(err.setting(), Some("issuers[0].jwks_url"));
}

#[tokio::test]
async fn per_issuer_typ_strictness_and_leeway() {
    let log = Log::start();
    let c = clock();
    let h = Harness::new(
        RequireMfaLayer::builder()
            .trust(static_issuer("strict", A).strict_rfc9068(true))
            .trust(static_issuer("lenient", B).leeway(std::time::Duration::from_secs(600)))
            .clock(c.clone()),
    );
    // `typ: JWT` passes the lenient issuer only.
    h.get("/x", &rsa_key().token(&claims(&c, A, TENANT_A)))
        .await;
    assert_eq!(log.reason().as_deref(), Some("wrong_type"));
    h.get("/x", &rsa_key().token(&claims(&c, B, TENANT_A)))
        .await
        .assert_passed();
    let mut header = rsa_key().header();
    header["typ"] = "at+jwt".into();
    h.get(
        "/x",
        &rsa_key().sign_json(&header, &claims(&c, A, TENANT_A)),
    )
    .await
    .assert_passed();
    // Expired five minutes ago: inside idp-b's leeway, outside idp-a's.
    let mut late_b = claims(&c, B, TENANT_A);
    late_b["exp"] = (harness::secs(&c) - 300).into();
    h.get("/x", &rsa_key().token(&late_b)).await.assert_passed();
    let mut late_a = late_b.clone();
    late_a["iss"] = A.into();
    h.get("/x", &rsa_key().sign_json(&header, &late_a)).await;
    assert_eq!(log.reason().as_deref(), Some("expired"));
}

#[tokio::test]
async fn decision_events_name_the_issuer_of_verified_tokens_only() {
    let log = Log::start();
    let c = clock();
    let h = Harness::new(
        RequireMfaLayer::builder()
            .trust(static_issuer("idp-a", A))
            .trust(static_issuer("idp-b", B))
            .rule(tower_mfa::Rule::mfa("/v1/**"))
            .clock(c.clone()),
    );
    let mut no_mfa = claims(&c, B, TENANT_A);
    no_mfa["amr"] = json!(["pwd"]);
    h.get("/v1/x", &rsa_key().token(&no_mfa))
        .await
        .assert_mfa_required();
    assert_eq!(log.reason().as_deref(), Some("no_mfa_proof"));
    let last = |log: &Log| {
        let text = log.text();
        text.lines()
            .rfind(|l| l.contains("tower_mfa::decision"))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(last(&log).contains("issuer=idp-b"), "{}", last(&log));
    // A forged token claims idp-a: nothing proves it, so no issuer is named.
    h.get("/v1/x", &rsa_key2().token(&claims(&c, A, TENANT_A)))
        .await
        .assert_invalid_token();
    assert_eq!(log.reason().as_deref(), Some("unknown_kid"));
    assert!(!last(&log).contains("idp-a"), "{}", last(&log));
    assert!(last(&log).contains("issuer= "), "{}", last(&log));
}
