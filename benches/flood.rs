//! Memory under a flood of distinct valid tokens: the verified-token cache
//! must stay within its byte budget however many tokens arrive.
//!
//! `cargo bench --bench flood -- [tokens] [budget-bytes]` (defaults: 1,000,000
//! tokens, the default 64 MiB budget). Tokens are EdDSA (cheap to sign),
//! minted on the fly and dropped after use; the process RSS is read from
//! /proc/self/status.

use std::convert::Infallible;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use http::{Request, Response};
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_mfa::jwks::{KeySet, VerifyingKey};
use tower_mfa::{RequireMfaLayer, Rule};

type Body = http_body_util::Empty<bytes::Bytes>;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let count: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let budget: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(tower_mfa::DEFAULT_CACHE_BYTES);

    let pair = Ed25519KeyPair::generate().unwrap();
    let jwk = json!({"kty":"OKP","crv":"Ed25519","kid":"ed","x":URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    let issuer = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
    let audience = "https://api.partnercenter.microsoft.com";
    let layer = RequireMfaLayer::builder()
        .issuer(issuer)
        .audience(audience)
        .static_keys(KeySet::from_keys([VerifyingKey::from_jwk(&jwk).unwrap()]))
        .token_cache_bytes(budget)
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap();
    let svc = layer
        .clone()
        .layer(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::new()))
        }));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = URL_SAFE_NO_PAD.encode(json!({"alg":"EdDSA","kid":"ed","typ":"JWT"}).to_string());

    let start_rss = rss_kib();
    let mut peak_rss = start_rss;
    let started = std::time::Instant::now();
    for i in 0..count {
        let claims = json!({"iss": issuer, "aud": audience, "iat": now, "exp": now + 3600,
            "amr": ["pwd", "mfa"], "sub": format!("user-{i}"), "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
            "tid": "df845f1a-7b35-40a2-ba78-6481de91f8ae", "name": "Isaiah Williams", "jti": i.to_string()});
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()))
        );
        let req = Request::get("/v1/customers")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::new())
            .unwrap();
        let ok = svc
            .clone()
            .oneshot(req)
            .now_or_never()
            .unwrap()
            .unwrap()
            .status()
            .is_success();
        assert!(ok);
        if i % 100_000 == 0 || i + 1 == count {
            let rss = rss_kib();
            peak_rss = peak_rss.max(rss);
            let (entries, bytes) = layer.token_cache_stats().unwrap();
            println!(
                "{:>8} tokens  rss {:>7} KiB  cache {:>7} entries {:>9} bytes (budget {budget})  {:.0?}",
                i + 1,
                rss,
                entries,
                bytes,
                started.elapsed()
            );
            assert!(bytes <= budget, "the cache passed its budget");
        }
    }
    println!(
        "flood of {count} distinct tokens: RSS grew {} KiB (peak {} KiB, start {} KiB); cache budget {} KiB",
        peak_rss.saturating_sub(start_rss),
        peak_rss,
        start_rss,
        budget / 1024
    );
}
