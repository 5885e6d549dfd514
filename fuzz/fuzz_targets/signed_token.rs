//! The whole layer on tokens whose signature verifies: the fuzzer writes the
//! header and payload JSON, the target signs them with the issuer's Ed25519
//! key, so claim typing, claim validation, caller classification and the MFA
//! policy are all reached.
//!
//! Input: `header JSON 0xFF payload JSON`, or only the payload JSON (then the
//! usual header is used). 0xFF never occurs in UTF-8 text.
#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt};
use tower_mfa::clock::ManualClock;
use tower_mfa::{RequireMfaLayer, Rule};

/// The fixed time of the fuzzed layer; seeds use `exp` around it.
const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.test/";
const HEADER: &[u8] = br#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}"#;

struct Fixture {
    key: Ed25519KeyPair,
    layer: RequireMfaLayer,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("seed");
        let x = URL_SAFE_NO_PAD.encode(key.public_key().as_ref());
        let jwks =
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"{x}"}}]}}"#);
        let layer = RequireMfaLayer::builder()
            .issuer(ISSUER)
            .audience("api://fuzz")
            .static_jwks(jwks.as_bytes())
            .expect("jwks")
            .clock(ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW)))
            .rule(Rule::mfa("/mfa/**"))
            .build()
            .expect("layer");
        Fixture { key, layer }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let (header, payload) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (HEADER, data),
    };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = fixture.key.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()));
    let request = Request::get("/mfa/customers")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .expect("request");
    let inner = tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let response = fixture
        .layer
        .layer(inner)
        .oneshot(request)
        .now_or_never()
        .expect("static keys never wait")
        .expect("infallible");
    let status = response.status();
    assert!(!status.is_server_error(), "{status}");
    if status == StatusCode::OK {
        // A request let through carries a payload that any JSON parser reads
        // as an object with our issuer and a numeric expiry in the future.
        let claims: serde_json::Value = serde_json::from_slice(payload).expect("payload is JSON");
        assert_eq!(claims["iss"], ISSUER);
        let exp = claims["exp"].as_f64().expect("numeric exp");
        assert!(exp + 60.0 > NOW as f64);
    }
});
