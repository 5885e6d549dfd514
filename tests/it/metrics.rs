//! Counters (feature `metrics`): decisions by outcome, kind and issuer, key
//! set fetches by issuer, token-cache hits and misses.
#![cfg(feature = "metrics")]

use crate::{harness, mint};

use std::collections::HashMap;

use axum::{Router, body::Body, routing::get};
use http::Request;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt;
use tower_mfa::{Issuer, RequireMfaLayer, Rule};

fn counters(recorder: &DebuggingRecorder) -> HashMap<String, u64> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let (_, key) = key.into_parts();
                let mut labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                Some((format!("{}{{{}}}", key.name(), labels.join(",")), n))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn decisions_fetches_and_cache_lookups_are_counted() {
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let key = mint::rsa_key();
            let server = mint::JwksServer::start(mint::jwks(&[key])).await;
            let layer = harness::over_jwks_server(&server)
                .rule(Rule::mfa("/v1/**"))
                .build()
                .unwrap();
            let app = Router::new()
                .route("/v1/x", get(|| async { "ok" }))
                .layer(layer);
            let mfa = key.token(&mint::user_claims(&["pwd", "mfa"]));
            let pwd = key.token(&mint::user_claims(&["pwd"]));
            for token in [&mfa, &mfa, &pwd, &pwd] {
                let req = Request::get("/v1/x")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                app.clone().oneshot(req).await.unwrap();
            }
            let req = Request::get("/v1/x").body(Body::empty()).unwrap();
            app.clone().oneshot(req).await.unwrap();
        });
    });
    let counters = counters(&recorder);
    assert_eq!(
        counters.get("tower_mfa_decisions_total{issuer=default,kind=,outcome=allow}"),
        Some(&2),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_decisions_total{issuer=default,kind=mfa_required,outcome=deny}"),
        Some(&2),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_decisions_total{issuer=,kind=missing_token,outcome=deny}"),
        Some(&1),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_jwks_fetches_total{issuer=default,result=ok}"),
        Some(&1),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_token_cache_total{result=hit}"),
        Some(&2),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_token_cache_total{result=miss}"),
        Some(&2),
        "{counters:#?}"
    );
}

#[test]
fn fetches_and_decisions_are_counted_per_issuer() {
    let recorder = DebuggingRecorder::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let (key_a, key_b) = (mint::rsa_key(), mint::rsa_key2());
            let a = mint::JwksServer::start(mint::jwks(&[key_a])).await;
            let b = mint::JwksServer::start(mint::jwks(&[key_b])).await;
            b.set(mint::Answer::Raw(500, Vec::new()));
            let issuer = |name: &str, iss: &str, url: String| {
                Issuer::new(name, iss)
                    .audience(mint::AUDIENCE)
                    .jwks_url(url)
            };
            let layer = RequireMfaLayer::builder()
                .trust(issuer("idp-a", mint::ISSUER, a.jwks_url()))
                .trust(issuer("idp-b", "https://idp-b.example/", b.jwks_url()))
                .allow_http_loopback(true)
                .build()
                .unwrap();
            let app = Router::new()
                .route("/v1/x", get(|| async { "ok" }))
                .layer(layer);
            let mut claims_b = mint::user_claims(&["pwd"]);
            claims_b["iss"] = "https://idp-b.example/".into();
            let tokens = [
                key_a.token(&mint::user_claims(&["pwd"])),
                key_b.token(&claims_b),
            ];
            for token in &tokens {
                let req = Request::get("/v1/x")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                app.clone().oneshot(req).await.unwrap();
            }
        });
    });
    let counters = counters(&recorder);
    for (key, n) in [
        ("tower_mfa_jwks_fetches_total{issuer=idp-a,result=ok}", 1),
        ("tower_mfa_jwks_fetches_total{issuer=idp-b,result=error}", 1),
        (
            "tower_mfa_decisions_total{issuer=idp-a,kind=,outcome=allow}",
            1,
        ),
    ] {
        assert_eq!(counters.get(key), Some(&n), "{key}: {counters:#?}");
    }
    assert!(
        !counters.keys().any(|k| k.contains("http")),
        "no URL in a label: {counters:#?}"
    );
}
