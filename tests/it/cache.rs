//! The verified-token cache: hits still check time, key set, rules and MFA;
//! the cache is bounded.
use crate::mint;

use std::time::{Duration, SystemTime};

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;
use tower_mfa::clock::ManualClock;
use tower_mfa::{RequireMfaLayer, Rule};

fn app(layer: RequireMfaLayer) -> Router {
    Router::new()
        .route("/v1/customers", get(|| async { "customers" }))
        .route("/dashboard", get(|| async { "overview" }))
        .layer(layer)
}

async fn status(app: &Router, path: &str, token: &str) -> StatusCode {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

fn builder(server: &mint::JwksServer, clock: &ManualClock) -> tower_mfa::Builder {
    RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .jwks_url(server.jwks_url())
        .allow_http_loopback(true)
        .clock(clock.clone())
        .rule(Rule::mfa("/v1/**"))
        .rule(Rule::authenticated("/dashboard"))
}

#[tokio::test]
async fn a_cached_token_is_still_checked_for_mfa_and_expiry() {
    let key = mint::TestKey::es256("ec-1");
    let server = mint::JwksServer::start(mint::jwks(&[&key])).await;
    let clock = ManualClock::now_real();
    let layer = builder(&server, &clock).build().unwrap();
    let app = app(layer.clone());

    let no_mfa = key.token(&mint::user_claims(&["pwd"]));
    assert_eq!(status(&app, "/dashboard", &no_mfa).await, StatusCode::OK);
    assert_eq!(
        layer.token_cache_stats().unwrap().0,
        1,
        "the verified token is cached"
    );
    // Same token, now on an MFA route: the policy runs on every request.
    assert_eq!(
        status(&app, "/v1/customers", &no_mfa).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status(&app, "/dashboard", &no_mfa).await, StatusCode::OK);

    // Past exp (3600 s) + leeway (60 s): the cached entry no longer passes.
    clock.advance(Duration::from_secs(3600 + 61));
    assert_eq!(
        status(&app, "/dashboard", &no_mfa).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.jwks_hits(), 1);
}

#[tokio::test]
async fn a_cached_token_dies_with_its_key() {
    let old = mint::TestKey::es256("old");
    let new = mint::TestKey::es256("new");
    let server = mint::JwksServer::start(mint::jwks(&[&old])).await;
    let clock = ManualClock::now_real();
    let app = app(builder(&server, &clock).build().unwrap());

    let old_token = key_token(&old);
    assert_eq!(status(&app, "/dashboard", &old_token).await, StatusCode::OK);
    assert_eq!(status(&app, "/dashboard", &old_token).await, StatusCode::OK);

    // The issuer rotates and drops the old key; a token under the new key
    // makes the layer refresh (the start-up fetch started no cooldown).
    server.set_jwks(mint::jwks(&[&new]));
    assert_eq!(
        status(&app, "/dashboard", &key_token(&new)).await,
        StatusCode::OK
    );
    assert_eq!(server.jwks_hits(), 2);
    // The cached old token is now refused.
    assert_eq!(
        status(&app, "/dashboard", &old_token).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unchanged_keys_keep_cached_tokens_across_refreshes() {
    let key = mint::TestKey::es256("k1");
    let other = mint::TestKey::es256("k2");
    let server = mint::JwksServer::start(mint::jwks(&[&key])).await;
    let clock = ManualClock::now_real();
    let layer = builder(&server, &clock).build().unwrap();
    let app = app(layer.clone());
    let token = key_token(&key);
    assert_eq!(status(&app, "/dashboard", &token).await, StatusCode::OK);
    server.set_jwks(mint::jwks(&[&key, &other]));
    assert_eq!(
        status(&app, "/dashboard", &key_token(&other)).await,
        StatusCode::OK
    );
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(status(&app, "/dashboard", &token).await, StatusCode::OK);
    assert_eq!(
        layer.token_cache_stats().unwrap().0,
        2,
        "both tokens cached, the first one kept"
    );
}

#[tokio::test]
async fn the_cache_is_bounded_and_can_be_turned_off() {
    let key = mint::TestKey::ed25519("ed");
    let server = mint::JwksServer::start(mint::jwks(&[&key])).await;
    let clock = ManualClock::now_real();
    let budget = 64 * 1024;
    let layer = builder(&server, &clock)
        .token_cache_bytes(budget)
        .build()
        .unwrap();
    let app = app(layer.clone());
    for i in 0..400 {
        let mut claims = mint::user_claims(&["pwd", "mfa"]);
        claims["jti"] = json!(format!("token-{i}"));
        assert_eq!(
            status(&app, "/v1/customers", &key.token(&claims)).await,
            StatusCode::OK
        );
    }
    let (entries, bytes) = layer.token_cache_stats().unwrap();
    assert!(
        bytes <= budget,
        "{bytes} bytes in {entries} entries exceed the budget"
    );
    assert!(
        entries < 400,
        "{entries} entries: the budget must have evicted some"
    );

    let off = builder(&server, &clock)
        .token_cache_bytes(0)
        .build()
        .unwrap();
    assert!(off.token_cache_stats().is_none());
    let app = self::app(off);
    assert_eq!(
        status(&app, "/v1/customers", &key_token(&key)).await,
        StatusCode::OK
    );
}

fn key_token(key: &mint::TestKey) -> String {
    let mut claims = mint::user_claims(&["pwd", "mfa"]);
    claims["iat"] = json!(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 5
    );
    key.token(&claims)
}

/// Sends `tokens` (each `rounds` times) in batches of 25 concurrent
/// requests; answers the statuses that were not 200.
async fn load(app: &Router, tokens: &[String], rounds: usize) -> Vec<StatusCode> {
    let mut failures = Vec::new();
    let requests: Vec<&String> = (0..rounds).flat_map(|_| tokens.iter()).collect();
    for batch in requests.chunks(25) {
        let statuses =
            futures_util::future::join_all(batch.iter().map(|t| status(app, "/v1/customers", t)))
                .await;
        failures.extend(statuses.into_iter().filter(|s| *s != StatusCode::OK));
    }
    failures
}

fn assert_no_failure(failures: Vec<StatusCode>) {
    assert!(failures.is_empty(), "valid tokens refused: {failures:?}");
}

/// Tokens with distinct subjects under `key` (each verified once, then cached).
fn distinct_tokens(key: &mint::TestKey, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut claims = mint::user_claims(&["pwd", "mfa"]);
            claims["sub"] = json!(format!("rotation-{i}"));
            claims["iat"] = json!(mint::now() - 5);
            key.token(&claims)
        })
        .collect()
}

/// A key rotation and an issuer outage under a bounded, untimed load: the
/// issuer publishes a second key, clients switch to tokens signed with it,
/// the first key is withdrawn, then the issuer goes down. No valid token is
/// ever refused, and the key set is fetched only when a new key is seen.
#[tokio::test]
async fn a_key_rotation_and_an_outage_under_load_refuse_no_valid_token() {
    let first = mint::TestKey::es256("rotation-1");
    let second = mint::TestKey::es256("rotation-2");
    let server = mint::JwksServer::start(mint::jwks(&[&first])).await;
    let clock = ManualClock::now_real();
    let app = app(builder(&server, &clock).build().unwrap());
    let old = distinct_tokens(&first, 20);
    let new = distinct_tokens(&second, 20);

    // Steady state under the first key.
    assert_no_failure(load(&app, &old, 5).await);
    assert_eq!(server.jwks_hits(), 1);

    // The issuer publishes the second key; clients switch while tokens under
    // the first are still in flight.
    server.set_jwks(mint::jwks(&[&first, &second]));
    let mixed: Vec<String> = old
        .iter()
        .zip(&new)
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    assert_no_failure(load(&app, &mixed, 3).await);
    assert_eq!(
        server.jwks_hits(),
        2,
        "one fetch for the new key, under load"
    );

    // The first key is withdrawn: tokens under the second keep passing.
    server.set_jwks(mint::jwks(&[&second]));
    assert_no_failure(load(&app, &new, 5).await);

    // The issuer goes down: tokens under the cached key keep passing.
    server.set(mint::Answer::Raw(503, b"down".to_vec()));
    assert_no_failure(load(&app, &new, 5).await);
    assert_eq!(server.jwks_hits(), 2, "no fetch while the keys are current");
}
