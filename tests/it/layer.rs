//! The tower contract of the layer: refused requests never reach the inner
//! service; only a clone that was driven to readiness is ever called (also
//! while keys are fetched); and the layer fits `tower::ServiceBuilder`,
//! `Router::layer`, `Router::route_layer` and `Router::nest`.
use crate::mint;

use crate::harness;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use harness::{Harness, MFA_PARTNER_CENTER, Reply, base, clock, static_builder, user_at};
use http::header::{AUTHORIZATION, COOKIE};
use http::{Request, Response, StatusCode};
use mint::{Answer, JwksServer};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tower_mfa::{Claims, Decision, RequireMfaLayer, Rule};

// ------------------------------------------------------ refusals stay out

#[tokio::test]
async fn refused_requests_never_reach_the_inner_service() {
    let clock = clock();
    let server = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .token_cookie("session")
            .rule(Rule::mfa("/v1/**"))
            .rule(Rule::mfa("/v1/admin/**").require_role("Admin"))
            .rule(Rule::authenticated("/admin/**").require_role("Admin")),
    );
    let key = mint::rsa_key();
    let pwd = key.token(&user_at(&clock, &["pwd"]));
    let mfa = key.token(&user_at(&clock, &["pwd", "mfa"]));
    let rotated = mint::rsa_key2().token(&user_at(&clock, &["pwd", "mfa"]));
    let requests: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "no token",
            harness::get("/v1/x", None),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "basic",
            Request::get("/v1/x")
                .header(AUTHORIZATION, "Basic dTpw")
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "two headers",
            Request::get("/v1/x")
                .header(AUTHORIZATION, format!("Bearer {mfa}"))
                .header(AUTHORIZATION, format!("Bearer {mfa}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "header and cookie",
            Request::get("/v1/x")
                .header(AUTHORIZATION, format!("Bearer {mfa}"))
                .header(COOKIE, format!("session={mfa}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "garbage",
            harness::get("/v1/x", Some("a.b.c")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown kid",
            harness::get("/v1/x", Some(&rotated)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no MFA",
            harness::get("/v1/x", Some(&pwd)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no role",
            harness::get("/admin/x", Some(&mfa)),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, req, status) in requests {
        let reply = h.send(req).await;
        assert_eq!(reply.status, status, "{what}");
        assert!(!reply.reached(), "{what}");
    }
    // Where HTTP says 503.
    server.set(Answer::Raw(500, Vec::new()));
    clock.advance(Duration::from_secs(31));
    let rotated = mint::rsa_key2().token(&user_at(&clock, &["pwd", "mfa"]));
    let reply = h.get("/v1/x", &rotated).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!reply.reached());
    assert_eq!(h.inner.calls(), 0);

    let mfa = key.token(&user_at(&clock, &["pwd", "mfa"]));
    h.get("/v1/x", &mfa).await.assert_passed();
    assert_eq!(h.inner.calls(), 1);
}

// -------------------------------------------------------------- readiness

/// An inner service whose every instance must be polled ready before it is
/// called, and whose readiness is spent by one call; a clone starts unready.
/// With `pending_first`, each instance is not ready the first time it is
/// polled (it wakes the task and is ready on the next poll).
struct Strict {
    ready: bool,
    pending_first: bool,
    was_pending: bool,
    calls: Arc<AtomicUsize>,
    violations: Arc<AtomicUsize>,
}

impl Strict {
    fn new(pending_first: bool) -> Self {
        Self {
            ready: false,
            pending_first,
            was_pending: false,
            calls: Arc::default(),
            violations: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn violations(&self) -> usize {
        self.violations.load(Ordering::SeqCst)
    }
}

impl Clone for Strict {
    fn clone(&self) -> Self {
        Self {
            ready: false,
            pending_first: self.pending_first,
            was_pending: false,
            calls: Arc::clone(&self.calls),
            violations: Arc::clone(&self.violations),
        }
    }
}

impl Service<Request<Body>> for Strict {
    type Response = Response<Body>;
    type Error = String;
    type Future = std::future::Ready<Result<Response<Body>, String>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        if self.pending_first && !self.was_pending {
            self.was_pending = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if !std::mem::take(&mut self.ready) {
            self.violations.fetch_add(1, Ordering::SeqCst);
            return std::future::ready(Err("called without poll_ready on this instance".into()));
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(harness::inner_response(&req)))
    }
}

#[tokio::test]
async fn the_strict_service_catches_an_unready_call() {
    // The check itself works: calling a fresh clone fails.
    let strict = Strict::new(false);
    let mut clone = strict.clone();
    assert!(clone.call(harness::get("/", None)).await.is_err());
    assert_eq!(strict.violations(), 1);
    let mut clone = strict.clone();
    clone.ready().await.unwrap();
    assert!(clone.call(harness::get("/", None)).await.is_ok());
    assert!(
        clone.call(harness::get("/", None)).await.is_err(),
        "readiness is spent"
    );
}

#[tokio::test]
async fn only_clones_made_ready_are_called() {
    for pending_first in [false, true] {
        let clock = clock();
        let layer = static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**"))
            .build()
            .unwrap();
        let strict = Strict::new(pending_first);
        let mut service = layer.layer(strict.clone());
        let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
        let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
        // The same outer service, driven the tower way: ready, call, repeat.
        for _ in 0..3 {
            service.ready().await.unwrap();
            let response = service
                .call(harness::get("/v1/x", Some(&mfa)))
                .await
                .expect("the inner service was made ready");
            Reply::read(response).await.assert_passed();
            service.ready().await.unwrap();
            let response = service
                .call(harness::get("/v1/x", Some(&pwd)))
                .await
                .unwrap();
            Reply::read(response).await.assert_mfa_required();
        }
        // Several calls started before any is awaited.
        service.ready().await.unwrap();
        let a = service.call(harness::get("/v1/a", Some(&mfa)));
        service.ready().await.unwrap();
        let b = service.call(harness::get("/v1/b", Some(&mfa)));
        let (a, b) = tokio::join!(a, b);
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(strict.violations(), 0, "pending_first = {pending_first}");
        assert_eq!(strict.calls(), 5);
    }
}

/// 20 concurrent requests through clones of `service`, half with `token`
/// (which must pass) and half with `refused`; the inner service is called
/// only for the first half, and never unready.
async fn concurrent_round(service: &tower_mfa::RequireMfa<Strict>, token: &str, refused: &str) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let mut service = service.clone();
        let token = if i % 2 == 0 { token } else { refused }.to_owned();
        tasks.spawn(async move {
            service.ready().await.unwrap();
            let response = service.call(harness::get("/v1/x", Some(&token))).await;
            let reply = Reply::read(response.expect("never called unready")).await;
            (i, reply.status)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, status) = done.unwrap();
        let expected = if i % 2 == 0 {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "request {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_clones_made_ready_are_called_during_a_slow_key_fetch() {
    let clock = clock();
    let (key, next) = (mint::rsa_key(), mint::rsa_key2());
    let server = JwksServer::start(mint::jwks(&[key])).await;
    let layer = base()
        .jwks_url(server.jwks_url())
        .allow_http_loopback(true)
        .clock(clock.clone())
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap();
    let pwd = key.token(&user_at(&clock, &["pwd"]));

    // The start-up fetch is slow: every request waits for it.
    server.set(Answer::Slow(Duration::from_millis(300), mint::jwks(&[key])));
    let strict = Strict::new(false);
    let service = layer.layer(strict.clone());
    concurrent_round(
        &service,
        &key.token(&user_at(&clock, &["pwd", "mfa"])),
        &pwd,
    )
    .await;
    assert_eq!((strict.violations(), strict.calls()), (0, 10));
    assert_eq!(server.jwks_hits(), 1);

    // A slow refresh for an unknown kid, with an inner service that is not
    // ready at its first poll.
    server.set(Answer::Slow(
        Duration::from_millis(300),
        mint::jwks(&[key, next]),
    ));
    let strict = Strict::new(true);
    let service = layer.layer(strict.clone());
    concurrent_round(
        &service,
        &next.token(&user_at(&clock, &["pwd", "mfa"])),
        &pwd,
    )
    .await;
    assert_eq!((strict.violations(), strict.calls()), (0, 10));
    assert_eq!(server.jwks_hits(), 2);
}

// ------------------------------------------------------------ composition

async fn customers(claims: Claims, decision: Decision) -> String {
    format!(
        "{}|{}|{}|{}",
        claims.subject().unwrap_or("?"),
        decision.caller().as_str(),
        decision.mfa().map_or("none", |m| m.as_str()),
        decision.rule()
    )
}

async fn call(app: &Router, req: Request<Body>) -> Reply {
    Reply::read(app.clone().oneshot(req).await.unwrap()).await
}

fn layer_at(clock: &tower_mfa::clock::ManualClock, rules: Vec<Rule>) -> RequireMfaLayer {
    static_builder(&[mint::rsa_key()])
        .clock(clock.clone())
        .step_up_url("https://login.example.test/step-up")
        .rules(rules)
        .build()
        .unwrap()
}

#[tokio::test]
async fn works_in_service_builder_and_router_layer() {
    let clock = clock();
    let mfa_layer = layer_at(
        &clock,
        vec![Rule::public("/healthz"), Rule::mfa("/v1/**").name("api")],
    );
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/customers", get(customers))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    AUTHORIZATION,
                    COOKIE,
                ]))
                .layer(TraceLayer::new_for_http())
                .layer(mfa_layer.clone()),
        );
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let reply = call(&app, harness::get("/v1/customers", Some(&mfa))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        &reply.body[..],
        b"f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11|user|amr|api"
    );
    let reply = call(&app, harness::get("/v1/customers", Some(&pwd))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(MFA_PARTNER_CENTER));
    assert_eq!(reply.reason.as_deref(), Some("Unauthorized - MFA required"));
    assert_eq!(
        call(&app, harness::get("/healthz", None)).await.status,
        StatusCode::OK
    );
    // `Router::layer` runs for unmatched paths too: the default rule wants a token.
    let reply = call(&app, harness::get("/nowhere", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));
    assert_eq!(
        call(&app, harness::get("/nowhere", Some(&pwd)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A bare tower stack around a service_fn.
    let svc = ServiceBuilder::new()
        .layer(mfa_layer)
        .service(tower::service_fn(|req: Request<Body>| async move {
            Ok::<_, Infallible>(harness::inner_response(&req))
        }));
    let reply = Reply::read(
        svc.clone()
            .oneshot(harness::get("/v1/x", Some(&mfa)))
            .await
            .unwrap(),
    )
    .await;
    reply.assert_passed();
    let reply = Reply::read(
        svc.oneshot(harness::get("/v1/x", Some(&pwd)))
            .await
            .unwrap(),
    )
    .await;
    reply.assert_mfa_required();
}

#[tokio::test]
async fn works_as_route_layer() {
    let clock = clock();
    let app = Router::new()
        .route("/v1/customers", get(customers))
        .route_layer(layer_at(&clock, vec![Rule::mfa("/v1/**")]));
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    assert_eq!(
        call(&app, harness::get("/v1/customers", Some(&mfa)))
            .await
            .status,
        StatusCode::OK
    );
    let reply = call(&app, harness::get("/v1/customers", Some(&pwd))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(MFA_PARTNER_CENTER));
    let reply = call(&app, harness::get("/v1/customers", None)).await;
    assert_eq!(reply.challenge(), Some("Bearer"));
    // `route_layer` only wraps matched routes: unmatched paths are a plain 404.
    let reply = call(&app, harness::get("/v1/other", None)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.challenge(), None);
}

#[tokio::test]
async fn rules_see_the_original_uri_under_nest() {
    let clock = clock();
    let api = |rules: Vec<Rule>| {
        Router::new()
            .route("/v1/customers", get(customers))
            .layer(layer_at(&clock, rules))
            .layer(tower_mfa::axum::OriginalPathLayer)
    };
    let app = Router::new().nest("/api", api(vec![Rule::mfa("/api/v1/**").name("nested")]));
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));

    let reply = call(&app, harness::get("/api/v1/customers", Some(&mfa))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.ends_with(b"|amr|nested"), "{reply:?}");
    let reply = call(&app, harness::get("/api/v1/customers", Some(&pwd))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some(MFA_PARTNER_CENTER));
    // The browser's return path is the original one too.
    let req = Request::get("/api/v1/customers?page=2")
        .header(AUTHORIZATION, format!("Bearer {pwd}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let reply = call(&app, req).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.header("location"),
        Some("https://login.example.test/step-up?return_to=%2Fapi%2Fv1%2Fcustomers%3Fpage%3D2")
    );

    // A rule written for the stripped path does not match: the default
    // (a valid token) applies, so the password-only user gets in.
    let app = Router::new().nest("/api", api(vec![Rule::mfa("/v1/**").name("stripped")]));
    let reply = call(&app, harness::get("/api/v1/customers", Some(&pwd))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.ends_with(b"|none|default"), "{reply:?}");
}
