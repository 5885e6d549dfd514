//! Property tests on hostile `Authorization` headers: whatever the bytes, the
//! layer never panics, never answers 5xx, never calls the inner service for
//! a refused request, and lets through no token but the exact valid one.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response, StatusCode};
use proptest::prelude::*;
use tower::{Layer, ServiceExt};
use tower_mfa::clock::ManualClock;
use tower_mfa::{RequireMfaLayer, Rule};

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.test/";

struct Fixture {
    layer: RequireMfaLayer,
    valid: String,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).expect("seed");
        let x = URL_SAFE_NO_PAD.encode(key.public_key().as_ref());
        let jwks =
            format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"{x}"}}]}}"#);
        let layer = RequireMfaLayer::builder()
            .issuer(ISSUER)
            .audience("api://prop")
            .static_jwks(jwks.as_bytes())
            .expect("jwks")
            .clock(ManualClock::at(UNIX_EPOCH + Duration::from_secs(NOW)))
            .rule(Rule::mfa("/v1/**"))
            .build()
            .expect("layer");
        let header = br#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}"#;
        let claims = format!(
            r#"{{"iss":"{ISSUER}","aud":"api://prop","exp":{},"iat":{},"sub":"u","amr":["pwd","mfa"]}}"#,
            NOW + 600,
            NOW - 10
        );
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let sig = key.sign(input.as_bytes());
        let valid = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Fixture {
            layer,
            valid,
            runtime,
        }
    })
}

/// Sends a request with these `Authorization` values; status and inner calls.
fn send(values: &[HeaderValue]) -> (StatusCode, usize) {
    let fixture = fixture();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let inner = tower::service_fn(move |_req: Request<()>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    });
    let mut request = Request::get("/v1/customers").body(()).expect("request");
    for value in values {
        request.headers_mut().append(AUTHORIZATION, value.clone());
    }
    let response = fixture
        .runtime
        .block_on(fixture.layer.layer(inner).oneshot(request))
        .expect("infallible");
    (response.status(), calls.load(Ordering::SeqCst))
}

/// The common invariants of every answer.
fn check(values: &[HeaderValue]) -> Result<(), TestCaseError> {
    let (status, calls) = send(values);
    prop_assert!(!status.is_server_error(), "{status}");
    prop_assert!(
        matches!(
            status,
            StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED
        ),
        "{status}"
    );
    if status == StatusCode::OK {
        prop_assert_eq!(calls, 1);
        // Only one header, `Bearer` in any case, spaces, the exact token.
        prop_assert_eq!(values.len(), 1);
        let text = values[0].to_str().expect("ascii");
        let (scheme, token) = text.split_once(' ').expect("scheme");
        prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
        prop_assert_eq!(token.trim_start_matches(' '), fixture().valid.as_str());
    } else {
        prop_assert_eq!(calls, 0);
    }
    Ok(())
}

/// A valid token, edited: one character replaced, inserted or removed,
/// truncated, or a segment swapped for arbitrary base64url.
fn mutated_token() -> impl Strategy<Value = String> {
    let edits = prop_oneof![
        (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| (0u8, i, c)),
        (any::<prop::sample::Index>(), any::<char>()).prop_map(|(i, c)| (1u8, i, c)),
        any::<prop::sample::Index>().prop_map(|i| (2u8, i, ' ')),
        any::<prop::sample::Index>().prop_map(|i| (3u8, i, ' ')),
    ];
    (edits, prop::collection::vec(any::<u8>(), 0..64), 0usize..3).prop_map(
        |((kind, index, c), bytes, segment)| {
            let valid = fixture().valid.clone();
            let mut chars: Vec<char> = valid.chars().collect();
            let at = index.index(chars.len());
            match kind {
                0 => chars[at] = c,
                1 => chars.insert(at, c),
                2 => {
                    chars.remove(at);
                }
                _ => {
                    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
                    parts[segment] = URL_SAFE_NO_PAD.encode(&bytes);
                    return parts.join(".");
                }
            }
            chars.into_iter().collect()
        },
    )
}

/// Header and payload of arbitrary JSON-ish text, with the real signature.
fn forged_segments() -> impl Strategy<Value = String> {
    ("\\PC{0,80}", "\\PC{0,200}").prop_map(|(header, payload)| {
        let sig = fixture().valid.rsplit('.').next().expect("sig").to_owned();
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_header_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            check(&[value])?;
        }
    }

    #[test]
    fn arbitrary_bearer_strings(token in "\\PC{0,300}", spaces in 0usize..3, scheme in "(?i:bearer)") {
        let text = format!("{scheme}{}{token}", " ".repeat(spaces));
        if let Ok(value) = HeaderValue::from_str(&text) {
            check(&[value])?;
        }
    }

    #[test]
    fn bearer_with_arbitrary_b64token(token in "[A-Za-z0-9._~+/-]{1,400}=*") {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("b64token");
        check(&[value])?;
    }

    #[test]
    fn edited_valid_tokens(token in mutated_token()) {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            check(&[value])?;
        }
    }

    #[test]
    fn forged_header_and_payload(token in forged_segments()) {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("b64token");
        let (status, calls) = send(&[value]);
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED);
        prop_assert_eq!(calls, 0);
    }

    #[test]
    fn several_headers(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 2..4), with_valid in any::<bool>()) {
        let mut headers: Vec<HeaderValue> = values
            .iter()
            .filter_map(|v| HeaderValue::from_bytes(v).ok())
            .collect();
        if with_valid {
            headers.push(HeaderValue::from_str(&format!("Bearer {}", fixture().valid)).expect("valid"));
        }
        if headers.len() >= 2 {
            let (status, calls) = send(&headers);
            prop_assert_eq!(status, StatusCode::BAD_REQUEST);
            prop_assert_eq!(calls, 0);
        }
    }
}

#[test]
fn the_valid_token_passes() {
    let value = HeaderValue::from_str(&format!("Bearer {}", fixture().valid)).expect("valid");
    assert_eq!(send(&[value]), (StatusCode::OK, 1));
}
