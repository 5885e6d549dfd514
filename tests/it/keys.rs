//! Keys and discovery (docs/SECURITY.md, keys), observed at the in-process JWKS server:
//! refresh on an unknown `kid`, single flight, the refresh cooldown,
//! last-known-good keys, discovery, and the background refresh schedule. Time
//! moves only through the `ManualClock`.
use crate::mint;

use crate::harness;

use std::time::Duration;

use harness::{Harness, base, clock, user_at};
use http::StatusCode;
use mint::{Answer, JwksServer, TestKey};
use serde_json::json;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_mfa::Builder;
use tower_mfa::Rule;
use tower_mfa::clock::{Clock, ManualClock};

const PATH: &str = "/v1/customers";

fn over_jwks_url(server: &JwksServer, clock: &ManualClock) -> Builder {
    base()
        .jwks_url(server.jwks_url())
        .allow_http_loopback(true)
        .clock(clock.clone())
        .rule(Rule::mfa("/v1/**"))
}

fn token(key: &TestKey, clock: &ManualClock) -> String {
    key.token(&user_at(clock, &["pwd", "mfa"]))
}

fn token_with_kid(key: &TestKey, kid: &str, clock: &ManualClock) -> String {
    key.sign_json(
        &json!({"alg": key.alg, "kid": kid, "typ": "JWT"}),
        &user_at(clock, &["pwd", "mfa"]),
    )
}

/// Sends `tokens` at once, each from its own task; the statuses, in order.
async fn concurrently(h: &Harness, tokens: Vec<String>) -> Vec<(StatusCode, bool)> {
    let mut tasks = JoinSet::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let service = h.service.clone();
        tasks.spawn(async move {
            let response = service
                .oneshot(harness::get(PATH, Some(&token)))
                .await
                .unwrap();
            let reply = harness::Reply::read(response).await;
            (i, reply.status, reply.reached())
        });
    }
    let mut out = vec![(StatusCode::IM_A_TEAPOT, false); tasks.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, status, reached) = done.unwrap();
        out[i] = (status, reached);
    }
    out
}

#[tokio::test]
async fn a_key_published_after_start_is_picked_up() {
    let clock = clock();
    let (old, new) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[old])).await;
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.get(PATH, &token(old, &clock)).await.assert_passed();
    assert_eq!(server.jwks_hits(), 1);
    // Rotation: the issuer publishes a new key and starts signing with it.
    server.set_jwks(mint::jwks(&[old, new]));
    let reply = h.get(PATH, &token(new, &clock)).await;
    reply.assert_passed();
    assert_eq!(server.jwks_hits(), 2, "one refresh for the unknown kid");
    // Both keys are now cached: no more fetches.
    h.get(PATH, &token(new, &clock)).await.assert_passed();
    h.get(PATH, &token(old, &clock)).await.assert_passed();
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(h.layer.cached_keys(), 2);
    assert_eq!(h.layer.key_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_requests_with_one_unknown_kid_fetch_once() {
    let clock = clock();
    let (old, new) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[old])).await;
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.layer.warm_up().await;
    assert_eq!(server.jwks_hits(), 1);
    // The server answers slowly, so the requests pile up behind one fetch.
    server.set(Answer::Slow(
        Duration::from_millis(300),
        mint::jwks(&[old, new]),
    ));
    let tokens = vec![token(new, &clock); 100];
    let replies = concurrently(&h, tokens).await;
    assert!(
        replies.iter().all(|r| *r == (StatusCode::OK, true)),
        "{replies:?}"
    );
    assert_eq!(server.jwks_hits(), 2, "exactly one fetch for 100 requests");
    assert_eq!(h.inner.calls(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_first_requests_share_the_start_up_fetch() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    server.set(Answer::Slow(Duration::from_millis(300), mint::jwks(&[key])));
    let h = Harness::new(over_jwks_url(&server, &clock));
    let replies = concurrently(&h, vec![token(key, &clock); 100]).await;
    assert!(
        replies.iter().all(|r| *r == (StatusCode::OK, true)),
        "{replies:?}"
    );
    assert_eq!(server.jwks_hits(), 1);
    assert_eq!(h.layer.key_fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_random_kids_is_held_to_the_cooldown() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.layer.warm_up().await;
    assert_eq!(server.jwks_hits(), 1);

    let storm = |from: usize| {
        (from..from + 50)
            .map(|i| token_with_kid(key, &format!("random-{i:x}-{}", i * 7919), &clock))
            .collect::<Vec<_>>()
    };
    let replies = concurrently(&h, storm(0)).await;
    assert!(
        replies
            .iter()
            .all(|r| *r == (StatusCode::UNAUTHORIZED, false))
    );
    assert_eq!(server.jwks_hits(), 2, "one refresh for the whole storm");
    // More random kids, one by one, inside the cooldown: no fetch.
    for i in 0..20 {
        let reply = h
            .get(PATH, &token_with_kid(key, &format!("late-{i}"), &clock))
            .await;
        reply.assert_invalid_token();
    }
    clock.advance(Duration::from_secs(29));
    concurrently(&h, storm(100)).await;
    assert_eq!(server.jwks_hits(), 2, "still inside the 30 s cooldown");
    // 30 s after the last refresh: one more, and only one.
    clock.advance(Duration::from_secs(1));
    let replies = concurrently(&h, storm(200)).await;
    assert!(
        replies
            .iter()
            .all(|r| *r == (StatusCode::UNAUTHORIZED, false))
    );
    assert_eq!(server.jwks_hits(), 3);
    concurrently(&h, storm(300)).await;
    assert_eq!(server.jwks_hits(), 3);
    // Known keys were never held up.
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    assert_eq!(h.layer.key_fetches(), 3);
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn a_configured_cooldown_is_used() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let h = Harness::new(over_jwks_url(&server, &clock).refresh_cooldown(Duration::from_secs(300)));
    h.layer.warm_up().await;
    h.get(PATH, &token_with_kid(key, "a", &clock))
        .await
        .assert_invalid_token();
    assert_eq!(server.jwks_hits(), 2);
    clock.advance(Duration::from_secs(299));
    h.get(PATH, &token_with_kid(key, "b", &clock))
        .await
        .assert_invalid_token();
    assert_eq!(server.jwks_hits(), 2);
    clock.advance(Duration::from_secs(1));
    h.get(PATH, &token_with_kid(key, "c", &clock))
        .await
        .assert_invalid_token();
    assert_eq!(server.jwks_hits(), 3);
}

#[tokio::test]
async fn known_keys_keep_passing_while_the_jwks_endpoint_is_down() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.layer.warm_up().await;
    let mut hits = 1;
    // Every way a fetch can fail keeps the last known keys.
    for failure in [
        Answer::Raw(500, b"internal error".to_vec()),
        Answer::Raw(404, Vec::new()),
        Answer::Raw(200, b"<html>maintenance</html>".to_vec()),
        Answer::Json(json!({"keys": []})),
        Answer::Json(json!({"keys": [{"kty": "oct", "kid": "x", "k": "AAAA"}]})),
        Answer::Redirect("http://localhost:1/jwks".to_owned()),
    ] {
        server.set(failure);
        clock.advance(Duration::from_secs(31));
        // An unknown kid triggers a refresh, which fails: 503.
        let reply = h.get(PATH, &token_with_kid(key, "rotated", &clock)).await;
        reply.assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
        hits += 1;
        assert_eq!(server.jwks_hits(), hits);
        // The known key still passes.
        h.get(PATH, &token(key, &clock)).await.assert_passed();
        assert_eq!(h.layer.cached_keys(), 1);
    }
    // Once the endpoint is back, a new key is found.
    let next = mint::rsa_key2();
    server.set_jwks(mint::jwks(&[key, next]));
    clock.advance(Duration::from_secs(31));
    h.get(PATH, &token(next, &clock)).await.assert_passed();
    hits += 1;
    assert_eq!(server.jwks_hits(), hits);
    // A due background refresh that fails changes nothing either.
    server.set(Answer::Raw(500, Vec::new()));
    clock.advance(Duration::from_secs(2 * 3600));
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    hits += 1;
    harness::eventually("the background refresh", || server.jwks_hits() == hits).await;
    // Joins the refresh still in flight (or fails once more): either way
    // the failure has been handled when it returns.
    h.layer.warm_up().await;
    assert_eq!(h.layer.cached_keys(), 2);
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    h.get(PATH, &token(next, &clock)).await.assert_passed();
}

#[tokio::test]
async fn a_jwks_url_fetches_no_discovery_document() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    h.get(PATH, &token_with_kid(key, "unknown", &clock))
        .await
        .assert_invalid_token();
    assert_eq!(server.jwks_hits(), 2);
    assert_eq!(server.discovery_hits(), 0);
}

#[tokio::test]
async fn a_discovery_url_is_followed_once() {
    let clock = clock();
    let (key, next) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let h = Harness::new(
        base()
            .discovery_url(server.discovery_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    assert_eq!((server.discovery_hits(), server.jwks_hits()), (1, 1));
    server.set_jwks(mint::jwks(&[key, next]));
    h.get(PATH, &token(next, &clock)).await.assert_passed();
    assert_eq!((server.discovery_hits(), server.jwks_hits()), (1, 2));
    assert_eq!(h.layer.key_fetches(), 2);
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    server.set_issuer("https://evil.example/");
    let h = Harness::new(
        base()
            .discovery_url(server.discovery_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    let reply = h.get(PATH, &token(key, &clock)).await;
    reply.assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(server.discovery_hits(), 1);
    assert_eq!(
        server.jwks_hits(),
        0,
        "the key set of another issuer is never fetched"
    );
    assert_eq!(h.layer.cached_keys(), 0);
    // An issuer differing only by a trailing slash is another issuer.
    server.set_issuer(mint::ISSUER.trim_end_matches('/'));
    clock.advance(Duration::from_secs(31));
    h.get(PATH, &token(key, &clock))
        .await
        .assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(server.jwks_hits(), 0);
    // Once the document names the configured issuer, keys load.
    server.set_issuer(mint::ISSUER);
    clock.advance(Duration::from_secs(31));
    h.get(PATH, &token(key, &clock)).await.assert_passed();
    assert_eq!(server.jwks_hits(), 1);
}

/// Moves the clock to `total` after the warm-up and sends a known-key token;
/// whether that request started a background refresh.
async fn refresh_started_at(
    h: &Harness,
    clock: &ManualClock,
    start: std::time::SystemTime,
    total: Duration,
) -> bool {
    let before = h.layer.key_fetches();
    clock.set(start + total);
    h.get(PATH, &token(mint::rsa_key(), clock))
        .await
        .assert_passed();
    // The fetch is counted when it starts, in the request's own call.
    h.layer.key_fetches() > before
}

async fn background_refresh_case(max_age: Option<u64>, not_yet: Duration, due: Duration) {
    let clock = clock();
    let start = clock.now();
    let (key, next) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[key])).await;
    server.set_max_age(max_age);
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.layer.warm_up().await;
    assert_eq!(server.jwks_hits(), 1);
    server.set_jwks(mint::jwks(&[key, next]));
    assert!(
        !refresh_started_at(&h, &clock, start, not_yet).await,
        "max-age {max_age:?}: refreshed at {not_yet:?}"
    );
    assert_eq!(server.jwks_hits(), 1);
    assert!(
        refresh_started_at(&h, &clock, start, due).await,
        "max-age {max_age:?}: not refreshed at {due:?}"
    );
    harness::eventually("the background fetch", || server.jwks_hits() == 2).await;
    harness::eventually("the new key set", || h.layer.cached_keys() == 2).await;
    // The new key is known without an unknown-kid refresh.
    h.get(PATH, &token(next, &clock)).await.assert_passed();
    assert_eq!(server.jwks_hits(), 2);
    // The next refresh is scheduled from this one.
    let again = start + due;
    assert!(!refresh_started_at(&h, &clock, again, not_yet).await);
}

#[tokio::test]
async fn hourly_background_refresh_without_max_age() {
    background_refresh_case(None, Duration::from_secs(3599), Duration::from_secs(3601)).await;
}

#[tokio::test]
async fn cache_control_max_age_schedules_the_refresh() {
    background_refresh_case(
        Some(600),
        Duration::from_secs(599),
        Duration::from_secs(601),
    )
    .await;
}

#[tokio::test]
async fn max_age_is_held_within_bounds() {
    // Below one minute: one minute.
    background_refresh_case(Some(5), Duration::from_secs(59), Duration::from_secs(61)).await;
    // Above a day: a day.
    background_refresh_case(
        Some(30 * 24 * 3600),
        Duration::from_secs(24 * 3600 - 1),
        Duration::from_secs(24 * 3600 + 1),
    )
    .await;
}

#[tokio::test]
async fn a_configured_refresh_interval_is_used() {
    let clock = clock();
    let start = clock.now();
    let server = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let h = Harness::new(over_jwks_url(&server, &clock).refresh_interval(Duration::from_secs(600)));
    h.layer.warm_up().await;
    assert!(!refresh_started_at(&h, &clock, start, Duration::from_secs(599)).await);
    assert!(refresh_started_at(&h, &clock, start, Duration::from_secs(601)).await);
    harness::eventually("the background fetch", || server.jwks_hits() == 2).await;
}

#[tokio::test]
async fn static_keys_are_never_fetched() {
    let clock = clock();
    let h = Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    h.get(PATH, &token(mint::rsa_key(), &clock))
        .await
        .assert_passed();
    h.get(PATH, &token(mint::rsa_key2(), &clock))
        .await
        .assert_invalid_token();
    clock.advance(Duration::from_secs(10 * 24 * 3600));
    h.get(PATH, &token(mint::rsa_key(), &clock))
        .await
        .assert_passed();
    assert_eq!(h.layer.key_fetches(), 0);
}

/// A clock that hands the thread to others each time it is read: every
/// window between two steps of the key store grows, which makes races that
/// are otherwise rare show up in a few rounds. It does not move time.
struct Yielding(ManualClock);

impl Clock for Yielding {
    fn now(&self) -> std::time::SystemTime {
        for _ in 0..50 {
            std::thread::yield_now();
        }
        self.0.now()
    }
}

/// A request that looked at the cache before the start-up fetch stored its
/// keys, and at the in-flight slot after the fetch freed it, must not start
/// a second fetch (this race was found by this test: about 1 round in 10
/// fetched twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_requests_never_start_a_second_fetch() {
    let clock = clock();
    let key = mint::rsa_key();
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let token = token(key, &clock);
    for round in 0..100 {
        let h = Harness::new(
            base()
                .jwks_url(server.jwks_url())
                .allow_http_loopback(true)
                .clock(Yielding(clock.clone())),
        );
        let replies = concurrently(&h, vec![token.clone(); 40]).await;
        assert!(replies.iter().all(|r| *r == (StatusCode::OK, true)));
        assert_eq!(h.layer.key_fetches(), 1, "round {round}");
    }
    assert_eq!(server.jwks_hits(), 100);
}

/// The verified-token cache must not keep the key set from being refreshed:
/// the same token, sent again after the refresh is due, starts it; and once
/// the issuer has withdrawn the key, that token is refused.
#[tokio::test]
async fn the_background_refresh_runs_for_a_token_seen_before() {
    let clock = clock();
    let start = clock.now();
    let (stays, withdrawn) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[stays, withdrawn])).await;
    server.set_max_age(Some(600));
    let h = Harness::new(over_jwks_url(&server, &clock));
    h.layer.warm_up().await;
    // Both tokens live an hour; seen once, they are verified and cached.
    let a = token(stays, &clock);
    let b = token(withdrawn, &clock);
    h.get(PATH, &a).await.assert_passed();
    h.get(PATH, &b).await.assert_passed();
    assert_eq!(h.layer.key_fetches(), 1);
    // The issuer withdraws a key.
    server.set_jwks(mint::jwks(&[stays]));
    clock.set(start + Duration::from_secs(599));
    h.get(PATH, &a).await.assert_passed();
    assert_eq!(h.layer.key_fetches(), 1, "not due yet");
    clock.set(start + Duration::from_secs(601));
    h.get(PATH, &a).await.assert_passed();
    assert_eq!(h.layer.key_fetches(), 2, "the due refresh was not started");
    harness::eventually("the background fetch", || server.jwks_hits() == 2).await;
    harness::eventually("the new key set", || h.layer.cached_keys() == 1).await;
    // The token under the withdrawn key no longer passes; the other does.
    h.get(PATH, &b).await.assert_invalid_token();
    h.get(PATH, &a).await.assert_passed();
}
