//! The gaps jsonwebtoken leaves open, each closed by the layer (docs/ARCHITECTURE.md, the pipeline
//! steps 3-6): header parameters, algorithms and keys, claim types and times,
//! duplicate JSON members; and verification with both jsonwebtoken crypto
//! backends compiled in.
use crate::mint;

use crate::harness;

use std::time::Duration;

use harness::{Harness, base, clock, secs, static_builder, user_at};
use mint::{JwksServer, TestKey, b64};
use serde_json::{Value, json};
use tower_mfa::Builder;
use tower_mfa::Rule;
use tower_mfa::clock::ManualClock;

const PATH: &str = "/v1/customers";

/// A layer over `keys` (static), MFA on `/v1/**`, at a fixed time.
fn layer(keys: &[&TestKey], f: impl FnOnce(Builder) -> Builder) -> (Harness, ManualClock) {
    let clock = clock();
    let builder = static_builder(keys)
        .clock(clock.clone())
        .rule(Rule::mfa("/v1/**"));
    (Harness::new(f(builder)), clock)
}

/// Valid claims (with MFA) at the clock's time.
fn claims(clock: &ManualClock) -> Value {
    user_at(clock, &["pwd", "mfa"])
}

/// Sends the token and asserts the invalid-token answer, with the inner
/// service never called.
async fn refused(h: &Harness, token: &str, what: &str) {
    let reply = h.get(PATH, token).await;
    assert_eq!(
        reply.status,
        http::StatusCode::UNAUTHORIZED,
        "{what}: {reply:?}"
    );
    assert_eq!(reply.challenge(), Some(harness::INVALID_TOKEN), "{what}");
    assert!(!reply.reached(), "{what}");
}

async fn passes(h: &Harness, token: &str, what: &str) {
    let reply = h.get(PATH, token).await;
    assert_eq!(reply.status, http::StatusCode::OK, "{what}: {reply:?}");
    assert!(reply.reached(), "{what}");
}

fn with_header(key: &TestKey, extra: Value, payload: &Value) -> String {
    let mut header = key.header();
    for (k, v) in extra.as_object().unwrap() {
        header[k] = v.clone();
    }
    key.sign_json(&header, payload)
}

// ------------------------------------------------------------------ header

#[tokio::test]
async fn crit_in_any_form_rejects_the_token() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let payload = claims(&clock);
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!([]),
        json!("exp"),
        json!(null),
        json!({}),
        json!(["http://example.com/unknown"]),
    ] {
        let token = with_header(key, json!({ "crit": crit }), &payload);
        refused(&h, &token, &format!("crit {crit}")).await;
    }
    passes(&h, &key.token(&payload), "control").await;
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn zip_cty_and_jwe_parameters_reject_the_token() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let payload = claims(&clock);
    for extra in [
        json!({"zip": "DEF"}),
        json!({"zip": ""}),
        json!({"cty": "JWT"}),
        json!({"cty": "application/json"}),
        json!({"b64": false}),
        json!({"enc": "A256GCM"}),
        json!({"epk": {}}),
        json!({"iv": "AAAA"}),
        json!({"p2c": 1000}),
    ] {
        let token = with_header(key, extra.clone(), &payload);
        refused(&h, &token, &format!("{extra}")).await;
    }
}

#[tokio::test]
async fn typ_lenient_by_default() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let payload = claims(&clock);
    let mut absent = key.header();
    absent.as_object_mut().unwrap().remove("typ");
    passes(&h, &key.sign_json(&absent, &payload), "typ absent").await;
    for typ in ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"] {
        passes(&h, &with_header(key, json!({"typ": typ}), &payload), typ).await;
    }
    for typ in [
        json!("JOSE"),
        json!("JWS"),
        json!("JOSE+JSON"),
        json!("dpop+jwt"),
        json!("secevent+jwt"),
        json!(""),
        json!("JWT "),
        json!(null),
        json!(1),
        json!(["JWT"]),
    ] {
        let token = with_header(key, json!({"typ": typ}), &payload);
        refused(&h, &token, &format!("typ {typ}")).await;
    }
}

#[tokio::test]
async fn strict_rfc9068_requires_at_jwt_case_insensitively() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b.strict_rfc9068(true));
    let payload = claims(&clock);
    for typ in [
        "at+jwt",
        "AT+JWT",
        "At+Jwt",
        "application/at+jwt",
        "Application/AT+JWT",
    ] {
        passes(&h, &with_header(key, json!({"typ": typ}), &payload), typ).await;
    }
    for typ in ["JWT", "jwt", "JOSE", "application/jwt", "at+jwt2"] {
        let token = with_header(key, json!({"typ": typ}), &payload);
        refused(&h, &token, typ).await;
    }
    let mut absent = key.header();
    absent.as_object_mut().unwrap().remove("typ");
    refused(&h, &key.sign_json(&absent, &payload), "typ absent").await;
    // `strict_rfc9068(false)` is the lenient default again.
    let (h, _) = layer(&[key], |b| b.strict_rfc9068(true).strict_rfc9068(false));
    passes(&h, &key.token(&payload), "lenient again").await;
}

#[tokio::test]
async fn alg_none_is_refused() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let payload = claims(&clock);
    let body = b64(payload.to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = b64(json!({"alg": alg, "kid": key.kid, "typ": "JWT"})
            .to_string()
            .as_bytes());
        // Unsigned (empty signature), and with a signature of some sort.
        refused(&h, &format!("{header}.{body}."), alg).await;
        let signed = key.sign_bytes(format!("{header}.{body}").as_bytes());
        refused(&h, &format!("{header}.{body}.{}", b64(&signed)), alg).await;
    }
    // No `alg` at all, or not a string.
    for header in [json!({"kid": key.kid}), json!({"alg": 256, "kid": key.kid})] {
        let token = key.sign_json(&header, &payload);
        refused(&h, &token, &header.to_string()).await;
    }
    // Algorithm names are case-sensitive.
    refused(
        &h,
        &with_header(key, json!({"alg": "rs256"}), &payload),
        "rs256",
    )
    .await;
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    use aws_lc_rs::hmac;
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let payload = b64(claims(&clock).to_string().as_bytes());
    let jwk = key.jwk();
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jwk["n"].as_str().unwrap(),
    )
    .unwrap();
    // What an attacker may know of the public key, used as the HMAC secret.
    let secrets: Vec<Vec<u8>> = vec![jwk.to_string().into_bytes(), n];
    for (alg, mac) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        for secret in &secrets {
            let header = b64(json!({"alg": alg, "kid": key.kid, "typ": "JWT"})
                .to_string()
                .as_bytes());
            let input = format!("{header}.{payload}");
            let tag = hmac::sign(&hmac::Key::new(mac, secret), input.as_bytes());
            refused(&h, &format!("{input}.{}", b64(tag.as_ref())), alg).await;
        }
    }
    assert_eq!(h.inner.calls(), 0);
}

#[tokio::test]
async fn header_alg_must_equal_the_keys_alg() {
    let rsa = mint::rsa_key();
    let pss = TestKey::ps256("pss");
    let es256 = TestKey::es256("ec-256");
    let es384 = TestKey::es384("ec-384");
    let ed = TestKey::ed25519("ed");
    // The PS256 key also published as RS256, and without `alg` (RSA implies RS256).
    let mut pss_as_rs256 = pss.jwk();
    pss_as_rs256["kid"] = json!("pss-as-rs256");
    pss_as_rs256["alg"] = json!("RS256");
    let mut pss_no_alg = pss.jwk();
    pss_no_alg["kid"] = json!("pss-no-alg");
    pss_no_alg.as_object_mut().unwrap().remove("alg");
    // The RS256 key also published as PS256.
    let mut rsa_as_ps256 = rsa.jwk();
    rsa_as_ps256["kid"] = json!("rsa-as-ps256");
    rsa_as_ps256["alg"] = json!("PS256");
    let set = json!({"keys": [
        rsa.jwk(), pss.jwk(), es256.jwk(), es384.jwk(), ed.jwk(),
        pss_as_rs256, pss_no_alg, rsa_as_ps256,
    ]});
    let clock = clock();
    let h = Harness::new(
        base()
            .static_jwks(set.to_string().as_bytes())
            .unwrap()
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    assert_eq!(h.layer.cached_keys(), 8);
    let payload = claims(&clock);
    // Each key verifies its own algorithm.
    for key in [rsa, &pss, &es256, &es384, &ed] {
        passes(&h, &key.token(&payload), key.alg).await;
    }
    // A PS256 signature under an RS256 key, with a valid signature.
    for kid in ["pss-as-rs256", "pss-no-alg"] {
        let token = pss.sign_json(&json!({"alg": "PS256", "kid": kid, "typ": "JWT"}), &payload);
        refused(&h, &token, kid).await;
    }
    // An RS256 signature under a PS256 key.
    let token = rsa.sign_json(
        &json!({"alg": "RS256", "kid": "rsa-as-ps256", "typ": "JWT"}),
        &payload,
    );
    refused(&h, &token, "rsa-as-ps256").await;
    // Header algorithms naming another key's family or curve.
    for (key, alg, kid) in [
        (&es256, "ES384", "ec-256"),
        (&es384, "ES256", "ec-384"),
        (&es256, "EdDSA", "ec-256"),
        (&ed, "ES256", "ed"),
        (&es256, "RS256", "ec-256"),
        (rsa, "PS256", "rsa-1"),
    ] {
        let token = key.sign_json(&json!({"alg": alg, "kid": kid}), &payload);
        refused(&h, &token, &format!("{alg} under {kid}")).await;
    }
}

#[tokio::test]
async fn keys_embedded_in_the_header_are_never_trusted() {
    let rsa = mint::rsa_key();
    let (h, clock) = layer(&[rsa], |b| b);
    let payload = claims(&clock);
    let attacker = TestKey::es256("rsa-1");
    for extra in [
        json!({"jwk": attacker.jwk()}),
        json!({"jku": "https://attacker.example/jwks"}),
        json!({"x5u": "https://attacker.example/cert"}),
        json!({"x5c": ["MIIB"]}),
    ] {
        // Signed by the attacker's key, naming the real kid.
        let mut header = json!({"alg": "ES256", "kid": "rsa-1", "typ": "JWT"});
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        refused(
            &h,
            &attacker.sign_json(&header, &payload),
            &extra.to_string(),
        )
        .await;
    }
    // The parameters themselves are ignored, not rejected.
    let token = with_header(
        rsa,
        json!({"x5t": "abc", "jku": "https://x.example"}),
        &payload,
    );
    passes(&h, &token, "ignored parameters").await;
}

// -------------------------------------------------------------------- keys

#[tokio::test]
async fn symmetric_and_encryption_keys_in_the_jwks_are_never_used() {
    let rsa = mint::rsa_key();
    let enc_key = TestKey::es256("ec-enc");
    let secret = b"a-shared-secret-that-must-never-verify-anything";
    let mut enc_jwk = enc_key.jwk();
    enc_jwk["use"] = json!("enc");
    let mut enc_ops = mint::rsa_key2().jwk();
    enc_ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    let set = json!({"keys": [
        rsa.jwk(),
        {"kty": "oct", "kid": "hmac-1", "alg": "HS256", "use": "sig", "k": b64(secret)},
        {"kty": "oct", "kid": "oct-no-alg", "k": b64(secret)},
        enc_jwk,
        enc_ops,
    ]});
    let server = JwksServer::start(set).await;
    let clock = clock();
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    h.layer.warm_up().await;
    assert_eq!(h.layer.cached_keys(), 1, "only the RSA signing key");
    let payload = claims(&clock);
    let body = b64(payload.to_string().as_bytes());
    for kid in ["hmac-1", "oct-no-alg"] {
        let header = b64(json!({"alg": "HS256", "kid": kid, "typ": "JWT"})
            .to_string()
            .as_bytes());
        let input = format!("{header}.{body}");
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
            input.as_bytes(),
        );
        refused(&h, &format!("{input}.{}", b64(tag.as_ref())), kid).await;
        // An asymmetric algorithm naming the oct key's kid.
        let token = rsa.sign_json(&json!({"alg": "RS256", "kid": kid}), &payload);
        refused(&h, &token, kid).await;
    }
    refused(&h, &enc_key.token(&payload), "use: enc").await;
    refused(
        &h,
        &mint::rsa_key2().token(&payload),
        "key_ops without verify",
    )
    .await;
    passes(&h, &rsa.token(&payload), "control").await;
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn two_keys_with_the_same_kid_are_both_dropped() {
    let (a, b) = (mint::rsa_key(), mint::rsa_key2());
    let c = TestKey::es256("unique");
    let mut a_jwk = a.jwk();
    a_jwk["kid"] = json!("dup");
    let mut b_jwk = b.jwk();
    b_jwk["kid"] = json!("dup");
    // A third with the same kid stays dropped too.
    let mut a_again = a.jwk();
    a_again["kid"] = json!("dup");
    let set = json!({"keys": [a_jwk, b_jwk, c.jwk(), a_again]});
    let server = JwksServer::start(set).await;
    let clock = clock();
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    h.layer.warm_up().await;
    assert_eq!(h.layer.cached_keys(), 1);
    let payload = claims(&clock);
    for key in [a, b] {
        let token = key.sign_json(&json!({"alg": "RS256", "kid": "dup"}), &payload);
        refused(&h, &token, &key.kid).await;
    }
    passes(&h, &c.token(&payload), "the unique key").await;

    // Static keys follow the same rule.
    let mut b_as_a = b.jwk();
    b_as_a["kid"] = json!("rsa-1");
    let set = json!({"keys": [a.jwk(), b_as_a]});
    let h = Harness::new(
        base()
            .static_jwks(set.to_string().as_bytes())
            .unwrap()
            .clock(clock.clone()),
    );
    assert_eq!(h.layer.cached_keys(), 0);
    refused(&h, &a.token(&payload), "static dup").await;
}

#[tokio::test]
async fn an_unusable_key_does_not_make_its_kid_ambiguous() {
    // Key hygiene: unusable keys are dropped first; a kid that then
    // appears once is fine.
    let (a, b) = (mint::rsa_key(), mint::rsa_key2());
    let mut enc = a.jwk();
    enc["kid"] = json!("k");
    enc["use"] = json!("enc");
    let mut sig = b.jwk();
    sig["kid"] = json!("k");
    let clock = clock();
    let h = Harness::new(
        base()
            .static_jwks(json!({"keys": [enc, sig]}).to_string().as_bytes())
            .unwrap()
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    assert_eq!(h.layer.cached_keys(), 1);
    let payload = claims(&clock);
    passes(
        &h,
        &b.sign_json(&json!({"alg": "RS256", "kid": "k"}), &payload),
        "sig key",
    )
    .await;
    refused(
        &h,
        &a.sign_json(&json!({"alg": "RS256", "kid": "k"}), &payload),
        "enc key",
    )
    .await;
}

// ------------------------------------------------------------------ claims

#[tokio::test]
async fn issuer_audience_and_expiry_are_required() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    for (name, value) in [
        ("iss", None),
        ("iss", Some(json!([mint::ISSUER]))),
        ("iss", Some(json!("https://sts.windows.net/other/"))),
        ("iss", Some(json!(mint::ISSUER.trim_end_matches('/')))),
        ("aud", None),
        ("aud", Some(json!("https://graph.microsoft.com"))),
        ("aud", Some(json!([]))),
        ("exp", None),
    ] {
        let mut payload = claims(&clock);
        match &value {
            Some(v) => payload[name] = v.clone(),
            None => {
                payload.as_object_mut().unwrap().remove(name);
            }
        }
        refused(&h, &key.token(&payload), &format!("{name} = {value:?}")).await;
    }
    // `aud` as an array holding the audience is fine.
    let mut payload = claims(&clock);
    payload["aud"] = json!(["https://graph.microsoft.com", mint::AUDIENCE]);
    passes(&h, &key.token(&payload), "aud array").await;
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn times_in_the_future_and_overlong_lifetimes_are_refused() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let t = secs(&clock) as f64;
    let hour = 3600.0;
    for (name, value) in [
        ("nbf", t + 120.0),
        ("nbf", t + 10.0 * hour),
        ("iat", t + 120.0),
        ("iat", t + 10.0 * hour),
        ("exp", t + 48.0 * hour + 1.0),
        ("exp", t + 49.0 * hour),
        ("exp", t + 365.0 * 24.0 * hour),
        ("exp", 1e300),
        ("exp", t - 3600.0),
    ] {
        let mut payload = claims(&clock);
        payload[name] = json!(value);
        refused(&h, &key.token(&payload), &format!("{name} = {value}")).await;
    }
    let mut payload = claims(&clock);
    payload["exp"] = json!(t + 47.0 * hour);
    passes(&h, &key.token(&payload), "47 h").await;
    // A shorter maximum lifetime is honoured.
    let (h, _) = layer(&[key], |b| b.max_lifetime(Duration::from_secs(3600)));
    payload["exp"] = json!(t + 2.0 * hour);
    refused(&h, &key.token(&payload), "2 h over a 1 h maximum").await;
    payload["exp"] = json!(t + 0.5 * hour);
    passes(&h, &key.token(&payload), "30 min").await;
}

#[tokio::test]
async fn claims_of_the_wrong_type_reject_the_token() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let t = secs(&clock);
    for (name, value) in [
        ("amr", json!("mfa")),
        ("amr", json!(["pwd", 1])),
        ("amr", json!(["pwd", ["mfa"]])),
        ("amr", json!({"0": "mfa"})),
        ("amr", json!(null)),
        ("exp", json!((t + 3600).to_string())),
        ("exp", json!(true)),
        ("exp", json!([t + 3600])),
        ("exp", json!(null)),
        ("nbf", json!("0")),
        ("iat", json!(null)),
        ("aud", json!(42)),
        ("aud", json!([42])),
        ("aud", json!({"aud": mint::AUDIENCE})),
        ("iss", json!(null)),
        ("iss", json!(1)),
        ("sub", json!(1)),
        ("tid", json!(1)),
        ("scp", json!(["user_impersonation", 7])),
        ("scp", json!({"user_impersonation": true})),
        ("roles", json!("Admin")),
        ("auth_time", json!("yesterday")),
        ("idtyp", json!(null)),
    ] {
        let mut payload = claims(&clock);
        payload[name] = value.clone();
        refused(&h, &key.token(&payload), &format!("{name} = {value}")).await;
    }
    // Not the missing-MFA answer: `amr` as a string makes the token invalid.
    let mut payload = claims(&clock);
    payload["amr"] = json!("pwd");
    let reply = h.get(PATH, &key.token(&payload)).await;
    reply.assert_invalid_token();
    assert_eq!(reply.reason, None);
    assert_eq!(h.inner.calls(), 0);
}

#[tokio::test]
async fn duplicate_members_reject_the_token() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let good = claims(&clock).to_string();
    let rest = &good[1..]; // everything after `{`
    let payloads = [
        // A typed claim twice: the last one would prove MFA.
        format!(r#"{{"amr":["pwd"],{rest}"#),
        format!(r#"{{"amr":["pwd","mfa"],{rest}"#),
        // An untyped claim twice.
        format!(r#"{{"foo":1,"foo":2,{rest}"#),
        format!(r#"{{"foo":"a","foo":"a",{rest}"#),
        // Through an escape.
        format!(r#"{{"\u0061mr":["mfa"],{rest}"#),
        // Nested.
        format!(r#"{{"ext":{{"a":1,"a":2}},{rest}"#),
        format!(r#"{{"ext":[{{"a":1,"a":2}}],{rest}"#),
    ];
    let header = key.header().to_string();
    for payload in &payloads {
        let token = key.sign_raw(header.as_bytes(), payload.as_bytes());
        refused(&h, &token, payload).await;
    }
    let kid = &key.kid;
    for header in [
        format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","alg":"RS256"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"other","typ":"JWT","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","typ":"JWT"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","x":{{"a":1,"a":1}}}}"#),
    ] {
        let token = key.sign_raw(header.as_bytes(), good.as_bytes());
        refused(&h, &token, &header).await;
    }
    // The same bytes without the duplicate pass.
    passes(
        &h,
        &key.sign_raw(header_of(key).as_bytes(), good.as_bytes()),
        "control",
    )
    .await;
    assert_eq!(h.inner.calls(), 1);
}

fn header_of(key: &TestKey) -> String {
    format!(r#"{{"alg":"{}","kid":"{}","typ":"JWT"}}"#, key.alg, key.kid)
}

#[tokio::test]
async fn fractional_numeric_dates_are_accepted() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let t = secs(&clock) as f64;
    let mut payload = claims(&clock);
    payload["exp"] = json!(t + 3600.5);
    payload["iat"] = json!(t - 10.25);
    payload["nbf"] = json!(t - 10.75);
    payload["auth_time"] = json!(t - 100.125);
    passes(&h, &key.token(&payload), "fractional").await;
    // Exponent notation is a number too.
    let raw = claims(&clock).to_string().replace(
        &format!("\"exp\":{}", secs(&clock) + 3600),
        &format!("\"exp\":{}e0", secs(&clock) + 3600),
    );
    assert!(raw.contains("e0"));
    passes(
        &h,
        &key.sign_raw(header_of(key).as_bytes(), raw.as_bytes()),
        "1e0",
    )
    .await;
    // A fraction past the leeway still counts: expired 60.5 s ago.
    payload["exp"] = json!(t - 60.5);
    refused(&h, &key.token(&payload), "expired 60.5 s ago").await;
}

#[tokio::test]
async fn leeway_of_60_seconds_is_honoured() {
    let key = mint::rsa_key();
    let (h, clock) = layer(&[key], |b| b);
    let t = secs(&clock) as i64;
    for (name, ok, bad) in [
        ("exp", t - 59, t - 61),
        ("nbf", t + 59, t + 61),
        ("iat", t + 59, t + 61),
    ] {
        let mut payload = claims(&clock);
        payload[name] = json!(ok);
        passes(
            &h,
            &key.token(&payload),
            &format!("{name} within the leeway"),
        )
        .await;
        payload[name] = json!(bad);
        refused(&h, &key.token(&payload), &format!("{name} past the leeway")).await;
    }
    // The clock moving makes a token expire: 59 s after `exp` it passes, at
    // 61 s it does not.
    let mut payload = claims(&clock);
    payload["exp"] = json!(t + 10);
    let token = key.token(&payload);
    clock.advance(Duration::from_secs(69));
    passes(&h, &token, "59 s after exp").await;
    clock.advance(Duration::from_secs(2));
    refused(&h, &token, "61 s after exp").await;

    // A configured leeway replaces it.
    let (h, clock) = layer(&[key], |b| b.leeway(Duration::ZERO));
    let t = secs(&clock) as i64;
    for (name, bad) in [("exp", t - 1), ("nbf", t + 1), ("iat", t + 1)] {
        let mut payload = claims(&clock);
        payload[name] = json!(bad);
        refused(&h, &key.token(&payload), &format!("{name} with no leeway")).await;
    }
}

// -------------------------------------------------------- crypto backends

/// The test build enables both jsonwebtoken backends (see the dev-dependency
/// in Cargo.toml); jsonwebtoken's own global provider then cannot pick one
/// and panics. The layer calls the aws-lc provider directly and verifies every
/// supported algorithm anyway.
#[tokio::test]
async fn verification_works_with_both_jsonwebtoken_backends_compiled_in() {
    let rsa = mint::rsa_key();
    let keys = [
        TestKey::ps256("ps"),
        TestKey::es256("es256"),
        TestKey::es384("es384"),
        TestKey::ed25519("ed"),
    ];
    let mut all: Vec<&TestKey> = vec![rsa];
    all.extend(keys.iter());
    let (h, clock) = layer(&all, |b| b);
    let payload = claims(&clock);

    // Proof that both backends are on in this build: jsonwebtoken's own
    // `decode` panics for want of a process-wide provider.
    let token = rsa.token(&payload);
    let jwk = rsa.jwk();
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        jwk["n"].as_str().unwrap(),
        jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[mint::AUDIENCE]);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
    }));
    assert!(
        outcome.is_err(),
        "jsonwebtoken's global provider did not panic: are both backends enabled?"
    );

    // The layer verifies every algorithm, and refuses a bad signature.
    for key in &all {
        passes(&h, &key.token(&payload), key.alg).await;
        let good = key.token(&payload);
        let (input, _) = good.rsplit_once('.').unwrap();
        let forged = format!("{input}.{}", b64(&key.sign_bytes(b"something else")));
        refused(&h, &forged, key.alg).await;
    }
    assert_eq!(h.inner.calls(), all.len());
}
