//! Log hygiene: with every tracing event captured at TRACE level (the crate's
//! and its dependencies'), a mix of hostile and valid requests leaves no
//! token, no token segment, no token `kid`, and no raw or unbounded
//! issuer-supplied `kid` in the log. Refusals are still logged, by reason.

use crate::{harness, logs, mint};

use std::sync::{Arc, Mutex};

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use tower_mfa::Rule;
use tracing::Instrument;

/// Marks this test's requests (a span field), so its own lines can be told
/// from those of the tests running beside it in the binary.
const TEST_ID: &str = "log-hygiene-7f3c";

/// A pseudo-random kid of `len` characters, distinctive enough that any
/// 16-character window of it appearing in the log means it was logged.
fn distinctive(tag: &str, len: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ tag.len() as u64;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::from(tag);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push(alphabet[(state % alphabet.len() as u64) as usize] as char);
    }
    out
}

/// Whether any `window`-character slice of `secret` (at a stride) is in `log`.
fn leaks(log: &str, secret: &str, window: usize) -> bool {
    if secret.len() <= window {
        return log.contains(secret);
    }
    let stride = (window / 2).max(1);
    (0..=secret.len() - window)
        .step_by(stride)
        .filter(|i| secret.is_char_boundary(*i) && secret.is_char_boundary(*i + window))
        .any(|i| log.contains(&secret[i..i + window]))
}

#[tokio::test]
async fn hostile_and_valid_requests_leave_no_secret_in_the_log() {
    // The binary's one subscriber, at TRACE; this test reads what was
    // written while it ran (its lines and any other test's: stricter).
    let buffer = logs::capture();
    let start = buffer.len();
    let span = tracing::info_span!("log_hygiene", test = TEST_ID);

    let key = mint::rsa_key();
    // The issuer's key set carries hostile kids of its own: a CRLF one and a
    // long one, both on keys that are skipped (and so logged).
    let jwks_crlf_kid = "jwks-kid\r\nX-Evil: injected";
    let jwks_long_kid = distinctive("JWKSLONG", 4096);
    let mut jwks = mint::jwks(&[key]);
    let keys = jwks["keys"].as_array_mut().expect("keys");
    keys.push(json!({"kty":"oct","kid":jwks_crlf_kid,"k":"c2VjcmV0"}));
    keys.push(json!({"kty":"XYZ","kid":jwks_long_kid}));
    let server = mint::JwksServer::start(jwks).await;
    let layer = harness::over_jwks_server(&server)
        .rule(Rule::mfa("/v1/**"))
        .build()
        .expect("layer");

    let header = |kid: &Value| json!({"alg":"RS256","kid":kid,"typ":"JWT"});
    let mfa = mint::user_claims(&["pwd", "mfa"]);
    let kid_crlf = "TOKENKID\r\nSet-Cookie: stolen=1";
    let kid_10k = distinctive("TOKENKID10K", 10 * 1024);
    let kid_100k = distinctive("TOKENKID100K", 100 * 1024);
    let valid = key.token(&mfa);
    let mut forged = valid.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    let mut none = mfa.clone();
    none["exp"] = json!(1);
    let tokens: Vec<(&str, String, StatusCode)> = vec![
        ("valid", valid.clone(), StatusCode::OK),
        (
            "no mfa",
            key.token(&mint::user_claims(&["pwd"])),
            StatusCode::UNAUTHORIZED,
        ),
        ("forged signature", forged, StatusCode::UNAUTHORIZED),
        ("expired", key.token(&none), StatusCode::UNAUTHORIZED),
        (
            "alg none",
            format!(
                "{}.{}.AAAA",
                mint::b64(br#"{"alg":"none","kid":"rsa-1"}"#),
                mint::b64(mfa.to_string().as_bytes())
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "kid with CRLF",
            key.sign_json(&header(&json!(kid_crlf)), &mfa),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "kid of 10 KB",
            key.sign_json(&header(&json!(kid_10k)), &mfa),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "kid of 100 KB",
            key.sign_json(&header(&json!(kid_100k)), &mfa),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "duplicate amr",
            key.sign_raw(
                header(&json!("rsa-1")).to_string().as_bytes(),
                mfa.to_string()
                    .replacen('{', r#"{"amr":["mfa"],"#, 1)
                    .as_bytes(),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "amr as a string",
            key.token(&{
                let mut c = mfa.clone();
                c["amr"] = json!("mfa");
                c
            }),
            StatusCode::UNAUTHORIZED,
        ),
    ];

    let app = |calls: &Arc<Mutex<usize>>| {
        let calls = Arc::clone(calls);
        layer.layer(tower::service_fn(move |_req: Request<Body>| {
            *calls.lock().expect("calls") += 1;
            async { Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty())) }
        }))
    };
    let calls = Arc::new(Mutex::new(0));
    for (name, token, expected) in &tokens {
        for (uri, header_value) in [
            ("/v1/customers", Some(format!("Bearer {token}"))),
            ("/dashboard", Some(format!("Bearer {token}"))),
            // The token in the query (ignored) and in a broken header.
            (&*format!("/v1/customers?access_token={token}"), None),
            ("/v1/customers", Some(format!("Bearer  {token} trailing"))),
        ] {
            if uri.len() > 60_000 {
                // http::Uri holds at most 64 KiB.
                continue;
            }
            let mut request = Request::get(uri);
            if let Some(value) = &header_value {
                request = request.header("authorization", value.as_str());
            }
            let response = app(&calls)
                .oneshot(request.body(Body::empty()).expect("request"))
                .instrument(span.clone())
                .await
                .expect("infallible");
            if uri == "/v1/customers" && header_value.as_deref() == Some(&format!("Bearer {token}"))
            {
                assert_eq!(response.status(), *expected, "{name}");
            }
        }
    }
    let log = buffer.text_since(start);
    // This test's lines: its requests' (in its span) and the key fetch's
    // (a task of the key store, outside the span), told by the issuer kids
    // that only this test publishes.
    let own: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains(TEST_ID)
                || l.contains(r"jwks-kid\r\nX-Evil")
                || l.contains(&jwks_long_kid[..32])
        })
        .collect();
    // What ran on this test's thread (its requests and every task of its
    // runtime, such as the key fetch): the scope the leak scans search.
    let thread = format!("{:?} ", std::thread::current().id());
    let mine = log
        .lines()
        .filter(|l| l.contains(&thread))
        .collect::<Vec<_>>()
        .join("\n");
    // The log is not empty: this test's refusals are logged by reason.
    for needle in [
        "tower_mfa::decision",
        "bad_signature",
        "unsupported_algorithm",
        "duplicate_member",
        "no_mfa_proof",
        "tower_mfa::jwks",
    ] {
        assert!(
            own.iter().any(|l| l.contains(needle)),
            "no {needle} in this test's log:\n{}",
            own.join("\n")
        );
    }
    // The leak detector finds what is there.
    assert!(leaks(&mine, &format!("??{}??", &jwks_long_kid[..40]), 24));
    // No token, nor any of its segments.
    for (name, token, _) in &tokens {
        assert!(!log.contains(token.as_str()), "{name}: token in the log");
        for segment in token.split('.').filter(|s| s.len() >= 12) {
            assert!(
                !leaks(&mine, segment, 24),
                "{name}: a token segment is in the log"
            );
        }
    }
    // No kid from a token, in any length; no line break from one either.
    for kid in [kid_crlf, kid_10k.as_str(), kid_100k.as_str()] {
        assert!(!leaks(&mine, kid, 8), "a token kid is in the log");
    }
    assert!(!log.contains("TOKENKID"), "a token kid is in the log");
    assert!(!log.contains("Set-Cookie"), "a CRLF kid was logged");
    assert!(!log.contains('\r'), "a raw carriage return is in the log");
    // Issuer-supplied kids: escaped, and cut to 64 characters at most.
    assert!(!log.contains("\nX-Evil"), "an issuer kid broke a log line");
    assert!(
        log.contains(r"jwks-kid\r\nX-Evil"),
        "the issuer's kid is logged escaped"
    );
    assert!(
        log.contains(&jwks_long_kid[..32]),
        "the long issuer kid is logged, cut"
    );
    assert!(
        !log.contains(&jwks_long_kid[..65]),
        "an issuer kid was logged uncut"
    );
    assert!(*calls.lock().expect("calls") >= 1);
}
