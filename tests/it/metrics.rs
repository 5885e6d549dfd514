//! Counters (feature `metrics`): decisions by outcome and kind, key set
//! fetches, token-cache hits and misses.
#![cfg(feature = "metrics")]

use crate::{harness, mint};

use std::collections::HashMap;

use axum::{Router, body::Body, routing::get};
use http::Request;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt;
use tower_mfa::Rule;

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
        counters.get("tower_mfa_decisions_total{kind=,outcome=allow}"),
        Some(&2),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_decisions_total{kind=mfa_required,outcome=deny}"),
        Some(&2),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_decisions_total{kind=missing_token,outcome=deny}"),
        Some(&1),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("tower_mfa_jwks_fetches_total{result=ok}"),
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
