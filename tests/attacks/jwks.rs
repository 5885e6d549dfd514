//! JWKS abuse: each scenario has its own issuer, layer and clock. Hostile
//! requests get their exact answer and never reach the inner service; the
//! key endpoint is contacted only as often as the cooldown allows; bad key
//! sets, slow or huge answers and redirects never replace good keys nor hang
//! a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use axum::body::Body;
use http::Request;
use serde_json::{Value, json};
use tower_mfa::clock::ManualClock;
use tower_mfa::{Builder, RequireMfaLayer, Rule};

use crate::harness::{Attacker, Expect, INVALID_TOKEN, Keys, judge, keys, mfa_claims, send};
use crate::mint::{self, Answer, JwksServer, b64};

/// A 1024-bit RSA modulus (generated with OpenSSL; aws-lc-rs refuses to sign
/// with keys this small).
const WEAK_N: &str = "v3XOk-5YTTtk5OQrBFnyT8uI4NADw79MTH7xHaLwU7WtTqhVztUSEaixWseNhQ5CWX7-WfXllOSj5wKiYOFmja0nWOsFD0vYZ0fS5FKR9TA9vOqBHVUhrebDFv7bx9H0JJIyguXVWCojSMqHFKbGAg-Mr02g6TVgvdy9pCMSGG0";
/// A token signed by that key (RS256, kid `weak-1024`, amr pwd+mfa, the
/// seed's issuer and audience), valid at [`WEAK_TIME`].
const WEAK_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IndlYWstMTAyNCIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2FwaS5wYXJ0bmVyY2VudGVyLm1pY3Jvc29mdC5jb20iLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC9kZjg0NWYxYS03YjM1LTQwYTItYmE3OC02NDgxZGU5MWY4YWUvIiwiaWF0IjoxNzQ5OTk5OTkwLCJuYmYiOjE3NDk5OTk5OTAsImV4cCI6MTc1MDAwMzYwMCwiYW1yIjpbInB3ZCIsIm1mYSJdLCJzdWIiOiJzIiwib2lkIjoibyIsInNjcCI6InVzZXJfaW1wZXJzb25hdGlvbiIsInRpZCI6ImRmODQ1ZjFhLTdiMzUtNDBhMi1iYTc4LTY0ODFkZTkxZjhhZSJ9.hZDJa5e2ZX2T3fIvkqBtnrfhMM2uXfzpyNVJMRQYEHKxK7K_HyZgBC2HMfdUvYckbJNU1QKpY_TsAYR77zwPYt5JBAOzG6DR_UYDu5O_Nzalmv9Vj78pG7X_4GQjqVDloXMjTSCeFedFh0rj9n416DyNMA2-CsD0vlWDts7fMWA";
const WEAK_TIME: u64 = 1_750_000_000;

/// A layer over `url` with a manual clock at real time.
fn layer(url: &str, clock: &ManualClock, tune: impl FnOnce(Builder) -> Builder) -> RequireMfaLayer {
    tune(
        RequireMfaLayer::builder()
            .issuer(mint::ISSUER)
            .audience(mint::AUDIENCE)
            .jwks_url(url)
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    )
    .build()
    .expect("layer")
}

fn request(token: &str) -> Request<Body> {
    Request::get("/v1/customers")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

async fn expect(layer: &RequireMfaLayer, name: &str, token: &str, expect: Expect) {
    let got = send(layer, request(token)).await;
    if let Err(e) = judge(name, expect, &got) {
        panic!("{e}");
    }
}

/// A token by the attacker's key under `kid`.
fn attacker_token(kid: &str) -> String {
    let header = json!({"alg":"RS256","kid":kid,"typ":"JWT"}).to_string();
    Keys::compact(
        header.as_bytes(),
        mfa_claims().to_string().as_bytes(),
        |m| keys().attacker.sign(&RSA_PKCS1_SHA256, m),
    )
}

/// The attacker's public key as a JWK under `kid`, with extra members.
fn attacker_jwk(kid: &str, extra: Value) -> Value {
    let mut jwk = keys().attacker.jwk("RS256");
    jwk["kid"] = json!(kid);
    if let (Some(jwk), Value::Object(extra)) = (jwk.as_object_mut(), extra) {
        jwk.extend(extra);
    }
    jwk
}

#[tokio::test]
async fn unknown_kid_storm_is_bounded_by_the_cooldown() {
    let server = JwksServer::start(keys().jwks()).await;
    let clock = ManualClock::now_real();
    let layer = layer(&server.jwks_url(), &clock, |b| b);
    // The start-up fetch does not start the cooldown.
    expect(&layer, "valid", &keys().valid(), Expect::Pass).await;
    assert_eq!(server.jwks_hits(), 1);

    for i in 0..200 {
        let token = attacker_token(&format!("storm-{i}"));
        expect(&layer, "sequential storm", &token, Expect::InvalidToken).await;
    }
    assert_eq!(
        server.jwks_hits(),
        2,
        "one unknown-kid refresh per cooldown"
    );

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let layer = layer.clone();
        tasks.spawn(async move {
            let got = send(&layer, request(&attacker_token(&format!("burst-{i}")))).await;
            judge("concurrent storm", Expect::InvalidToken, &got)
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("answer");
    }
    assert_eq!(server.jwks_hits(), 2);

    // After the cooldown, one more refresh, and again only one.
    clock.advance(Duration::from_secs(31));
    for i in 0..50 {
        let token = attacker_token(&format!("later-{i}"));
        expect(&layer, "storm after cooldown", &token, Expect::InvalidToken).await;
    }
    assert_eq!(server.jwks_hits(), 3);
    expect(
        &layer,
        "valid after the storm",
        &keys().valid(),
        Expect::Pass,
    )
    .await;
}

#[tokio::test]
async fn key_set_over_the_size_cap_is_not_used_and_does_not_hang() {
    // 600 KiB: over the default 512 KiB cap, with the real key inside.
    let mut huge = keys().jwks();
    huge["padding"] = json!("x".repeat(600 * 1024));
    let server = JwksServer::start(huge).await;
    let clock = ManualClock::now_real();
    let default_cap = layer(&server.jwks_url(), &clock, |b| b);
    let started = Instant::now();
    expect(
        &default_cap,
        "huge key set",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(default_cap.cached_keys(), 0);

    // A smaller cap refuses an ordinary key set.
    server.set_jwks(keys().jwks());
    let small_cap = layer(&server.jwks_url(), &clock, |b| b.max_jwks_bytes(1024));
    expect(
        &small_cap,
        "over a 1 KiB cap",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    assert_eq!(small_cap.cached_keys(), 0);

    // A chunked body with no Content-Length, streaming far past the cap.
    let raw = RawServer::start(RawAnswer::EndlessChunks).await;
    let chunked = layer(&raw.url(), &clock, |b| b.max_jwks_bytes(64 * 1024));
    let started = Instant::now();
    expect(
        &chunked,
        "endless chunked key set",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn slow_key_endpoint_is_cut_by_the_fetch_timeout() {
    let server = JwksServer::start(keys().jwks()).await;
    server.set(Answer::Slow(Duration::from_secs(30), keys().jwks()));
    let clock = ManualClock::now_real();
    let slow = layer(&server.jwks_url(), &clock, |b| {
        b.fetch_timeout(Duration::from_millis(300))
    });
    let started = Instant::now();
    expect(&slow, "slow key set", &keys().valid(), Expect::Unavailable).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Headers at once, then one byte every 100 ms: the whole fetch is bounded.
    let raw = RawServer::start(RawAnswer::Trickle(keys().jwks().to_string())).await;
    let trickle = layer(&raw.url(), &clock, |b| {
        b.fetch_timeout(Duration::from_millis(500))
    });
    let started = Instant::now();
    expect(
        &trickle,
        "trickled key set",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn failed_refreshes_keep_the_last_known_good_keys() {
    let server = JwksServer::start(keys().jwks()).await;
    let clock = ManualClock::now_real();
    let layer = layer(&server.jwks_url(), &clock, |b| b);
    expect(&layer, "valid", &keys().valid(), Expect::Pass).await;
    let oct_only = json!({"keys":[{"kty":"oct","kid":"oct-1","k":b64(b"secret")}]});
    let answers = [
        ("HTTP 500", Answer::Raw(500, b"oops".to_vec())),
        ("HTTP 503", Answer::Raw(503, Vec::new())),
        ("HTTP 404", Answer::Raw(404, b"not found".to_vec())),
        (
            "HTML page",
            Answer::Raw(200, b"<html><body>Sign in</body></html>".to_vec()),
        ),
        ("invalid JSON", Answer::Raw(200, b"{\"keys\":[".to_vec())),
        ("keys not an array", Answer::Json(json!({"keys":"rsa-1"}))),
        (
            "a JSON array",
            Answer::Json(json!([keys().rsa.jwk("RS256")])),
        ),
        ("empty key set", Answer::Json(json!({"keys":[]}))),
        ("only unusable keys", Answer::Json(oct_only)),
        (
            "deeply nested JSON",
            Answer::Raw(
                200,
                format!("{{\"keys\":{}{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            ),
        ),
    ];
    for (i, (name, answer)) in answers.into_iter().enumerate() {
        server.set(answer);
        clock.advance(Duration::from_secs(31));
        let hits = server.jwks_hits();
        // An unknown kid refreshes; the issuer fails: 503, documented.
        expect(
            &layer,
            &format!("unknown kid while {name}"),
            &attacker_token(&format!("unknown-{i}")),
            Expect::Unavailable,
        )
        .await;
        assert_eq!(server.jwks_hits(), hits + 1, "{name}");
        assert_eq!(layer.cached_keys(), 5, "{name}: keys kept");
        expect(
            &layer,
            &format!("valid while {name}"),
            &keys().valid(),
            Expect::Pass,
        )
        .await;
        // A kid of the kept keys with a forged signature is still refused.
        expect(
            &layer,
            &format!("forged rsa-1 while {name}"),
            &attacker_token("rsa-1"),
            Expect::InvalidToken,
        )
        .await;
    }
}

#[tokio::test]
async fn identity_provider_down_answers_503_or_the_configured_401() {
    let server = JwksServer::start(json!({"keys":[]})).await;
    server.set(Answer::Raw(500, Vec::new()));
    let clock = ManualClock::now_real();
    let default = layer(&server.jwks_url(), &clock, |b| b);
    expect(
        &default,
        "issuer down",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    let as_401 = layer(&server.jwks_url(), &clock, |b| {
        b.keys_unavailable_status(tower_mfa::KeysUnavailableStatus::Unauthorized)
    });
    expect(
        &as_401,
        "issuer down, 401 configured",
        &keys().valid(),
        Expect::InvalidToken,
    )
    .await;

    // An empty key set at start-up is a failure too.
    server.set(Answer::Json(json!({"keys":[]})));
    let empty = layer(&server.jwks_url(), &clock, |b| b);
    expect(
        &empty,
        "empty key set",
        &keys().valid(),
        Expect::Unavailable,
    )
    .await;
    assert_eq!(empty.cached_keys(), 0);
}

#[tokio::test]
async fn duplicate_kid_is_dropped_as_ambiguous() {
    let jwks = json!({"keys":[
        keys().rsa.jwk("RS256"),
        attacker_jwk("rsa-1", json!({})),
        keys().ec256.jwk(),
    ]});
    let server = JwksServer::start(jwks).await;
    let clock = ManualClock::now_real();
    let layer = layer(&server.jwks_url(), &clock, |b| b);
    layer.warm_up().await;
    assert_eq!(layer.cached_keys(), 1, "only ec-1 is left");
    expect(
        &layer,
        "issuer's token, shared kid",
        &keys().valid(),
        Expect::InvalidToken,
    )
    .await;
    expect(
        &layer,
        "attacker's token, shared kid",
        &attacker_token("rsa-1"),
        Expect::InvalidToken,
    )
    .await;
}

/// Every unusable key holds the attacker's public key: were the layer to use
/// one, the attacker's token under that kid would pass.
#[tokio::test]
async fn unusable_keys_are_skipped_and_good_ones_kept() {
    let k = keys();
    let secret = b"a shared secret of thirty-two b!";
    let off_curve =
        json!({"kty":"EC","kid":"off-curve","crv":"P-256","x":b64(&[1; 32]),"y":b64(&[2; 32])});
    let mut wrong_curve = k.ec256.jwk();
    wrong_curve["kid"] = json!("wrong-curve");
    wrong_curve["crv"] = json!("P-384");
    let mut es_on_p256_as_384 = k.ec256.jwk();
    es_on_p256_as_384["kid"] = json!("alg-mismatch");
    es_on_p256_as_384["alg"] = json!("ES384");
    let jwks = json!({"keys":[
        {"kty":"oct","kid":"oct-1","k":b64(secret),"alg":"HS256"},
        attacker_jwk("private-1", json!({"d": b64(&[7; 256]), "p": b64(&[3; 128])})),
        attacker_jwk("enc-1", json!({"use":"enc"})),
        attacker_jwk("ops-1", json!({"key_ops":["encrypt","wrapKey"]})),
        attacker_jwk("hs-1", json!({"alg":"HS256"})),
        attacker_jwk("none-1", json!({"alg":"none"})),
        attacker_jwk("rs384-1", json!({"alg":"RS384"})),
        attacker_jwk("xyz-1", json!({"kty":"XYZ"})),
        attacker_jwk("kty-lower", json!({"kty":"rsa"})),
        {"kty":"RSA","kid":"weak-1024","n":WEAK_N,"e":"AQAB"},
        {"kty":"OKP","kid":"x25519","crv":"X25519","x":b64(&[9; 32])},
        off_curve,
        wrong_curve,
        es_on_p256_as_384,
        {"kid":"no-kty","n":b64(&k.attacker.n()),"e":"AQAB"},
        {"kty":"RSA","kid":"zero-n","n":"AA","e":"AQAB"},
        {"kty":"RSA","kid":"empty-n","n":"","e":"AQAB"},
        attacker_jwk("empty-e", json!({"e":""})),
        attacker_jwk("huge-e", json!({"e":b64(&[1; 9])})),
        "a string, not a key",
        k.rsa.jwk("RS256"),
    ]});
    assert_eq!(
        tower_mfa::__fuzz::parse_jwks(jwks.to_string().as_bytes()),
        Some(1),
        "only rsa-1 is usable"
    );
    let server = JwksServer::start(jwks).await;
    let clock = ManualClock::now_real();
    let layer = layer(&server.jwks_url(), &clock, |b| b);
    expect(&layer, "the good key still works", &k.valid(), Expect::Pass).await;
    assert_eq!(layer.cached_keys(), 1);

    let hs = json!({"alg":"HS256","kid":"oct-1","typ":"JWT"}).to_string();
    let hmac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let hs_token = Keys::compact(hs.as_bytes(), mfa_claims().to_string().as_bytes(), |m| {
        aws_lc_rs::hmac::sign(&hmac_key, m).as_ref().to_vec()
    });
    expect(
        &layer,
        "HS256 with the published oct key",
        &hs_token,
        Expect::InvalidToken,
    )
    .await;
    for kid in [
        "oct-1",
        "private-1",
        "enc-1",
        "ops-1",
        "hs-1",
        "none-1",
        "rs384-1",
        "xyz-1",
        "kty-lower",
        "weak-1024",
        "no-kty",
        "zero-n",
        "empty-n",
        "empty-e",
        "huge-e",
    ] {
        expect(
            &layer,
            &format!("attacker's token under unusable kid {kid}"),
            &attacker_token(kid),
            Expect::InvalidToken,
        )
        .await;
    }
    let es = |kid: &str| {
        let header = json!({"alg":"ES256","kid":kid,"typ":"JWT"}).to_string();
        Keys::compact(
            header.as_bytes(),
            mfa_claims().to_string().as_bytes(),
            |m| k.ec256.sign(m),
        )
    };
    for kid in ["off-curve", "wrong-curve", "alg-mismatch"] {
        expect(
            &layer,
            &format!("ES256 token under {kid}"),
            &es(kid),
            Expect::InvalidToken,
        )
        .await;
    }
    // Unknown kids inside the cooldown did not turn into a fetch each.
    assert!(server.jwks_hits() <= 2, "{}", server.jwks_hits());
}

#[tokio::test]
async fn rsa_1024_bit_key_is_refused() {
    let jwks = json!({"keys":[{"kty":"RSA","kid":"weak-1024","use":"sig","alg":"RS256","n":WEAK_N,"e":"AQAB"}]});
    assert_eq!(
        tower_mfa::__fuzz::parse_jwks(jwks.to_string().as_bytes()),
        Some(0)
    );
    let server = JwksServer::start(jwks).await;
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(WEAK_TIME + 60));
    let layer = layer(&server.jwks_url(), &clock, |b| b);
    // The only key is unusable, so the set is empty: a failed fetch.
    expect(
        &layer,
        "token by a 1024-bit key",
        WEAK_TOKEN,
        Expect::Unavailable,
    )
    .await;

    // Next to a good key, the weak one is simply unknown.
    let mut both = json!({"keys":[keys().rsa.jwk("RS256")]});
    both["keys"]
        .as_array_mut()
        .expect("keys")
        .push(json!({"kty":"RSA","kid":"weak-1024","n":WEAK_N,"e":"AQAB"}));
    server.set_jwks(both);
    let layer = self::layer(&server.jwks_url(), &clock, |b| b);
    expect(
        &layer,
        "token by a 1024-bit key, good key beside",
        WEAK_TOKEN,
        Expect::InvalidToken,
    )
    .await;
    assert_eq!(layer.cached_keys(), 1);
}

#[tokio::test]
async fn redirects_to_another_host_or_port_are_refused() {
    let server = JwksServer::start(keys().jwks()).await;
    let clock = ManualClock::now_real();
    let token = attacker_token("attacker-1");
    let forged = attacker_token("rsa-1");
    let mut targets = Vec::new();
    // Another loopback address, `localhost` for 127.0.0.1, and another port
    // of the same host: none is the configured origin.
    let other_ip = Attacker::start("127.0.0.2").await;
    targets.push((
        format!("http://127.0.0.2:{}/jwks", other_ip.addr.port()),
        other_ip,
    ));
    let same_ip = Attacker::start("127.0.0.1").await;
    targets.push((
        format!("http://localhost:{}/jwks", same_ip.addr.port()),
        same_ip,
    ));
    let other_port = Attacker::start("127.0.0.1").await;
    targets.push((
        format!("http://127.0.0.1:{}/jwks", other_port.addr.port()),
        other_port,
    ));
    for (to, attacker) in &targets {
        server.set(Answer::Redirect(to.clone()));
        let layer = layer(&server.jwks_url(), &clock, |b| b);
        expect(
            &layer,
            &format!("redirect to {to}"),
            &token,
            Expect::Unavailable,
        )
        .await;
        expect(
            &layer,
            &format!("forged rsa-1, redirect to {to}"),
            &forged,
            Expect::Unavailable,
        )
        .await;
        assert_eq!(layer.cached_keys(), 0);
        assert_eq!(attacker.connections(), 0, "{to} was contacted");
    }
}

/// A bare HTTP/1.1 server for answers axum would not give.
struct RawServer {
    addr: std::net::SocketAddr,
    _hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
enum RawAnswer {
    /// `Transfer-Encoding: chunked`, 8 KiB chunks without end.
    EndlessChunks,
    /// The headers at once, then the body one byte per 100 ms.
    Trickle(String),
}

impl RawServer {
    async fn start(answer: RawAnswer) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    match answer {
                        RawAnswer::EndlessChunks => {
                            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                            if stream.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let chunk = format!("2000\r\n{}\r\n", " ".repeat(0x2000));
                            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
                        }
                        RawAnswer::Trickle(body) => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                                body.len()
                            );
                            if stream.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            for byte in body.bytes() {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                if stream.write_all(&[byte]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self { addr, _hits: hits }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }
}

#[test]
fn challenge_constant_matches_the_spec() {
    assert_eq!(
        INVALID_TOKEN,
        r#"Bearer error="invalid_token", error_description="The access token is invalid""#
    );
}
