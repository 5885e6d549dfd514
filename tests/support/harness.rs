//! Shared pieces of the integration tests (`tests/it/`, `tests/attacks/`): a counting inner service
//! that marks the responses it produced, a fixed manual clock, claims at the
//! clock's time, and a one-call way to send a request through the layer.
//!
//! Include with `#[path = "support/harness.rs"] mod harness;` next to `mint`
//! (it uses `super::mint`).
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::{Layer, ServiceExt};
use tower_mfa::clock::{Clock, ManualClock};
use tower_mfa::{Builder, Decision, RequireMfa, RequireMfaLayer};

use super::mint;

/// The exact challenges of the answers table (docs/SECURITY.md).
pub const INVALID_TOKEN: &str =
    "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"";
pub const INVALID_REQUEST: &str = "Bearer error=\"invalid_request\", error_description=\"The request carries a malformed or duplicated credential\"";
pub const MFA_PARTNER_CENTER: &str = "Bearer error=\"invalid_token\"";

/// The header the inner service puts on every response it produced.
pub const REACHED: &str = "x-inner-reached";

/// An inner service that counts its calls and marks its responses, so a test
/// knows whether a request got through without racing on the counter.
#[derive(Clone, Default)]
pub struct Inner {
    pub calls: Arc<AtomicUsize>,
}

impl Inner {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl tower::Service<Request<Body>> for Inner {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(inner_response(&req)))
    }
}

/// What the inner service answers: 200, marked, and the claims it was given.
pub fn inner_response<B>(req: &Request<B>) -> Response<Body> {
    let decision = req.extensions().get::<Decision>();
    let claims = decision.map(Decision::claims);
    let mut response = Response::new(Body::from(
        claims
            .and_then(|c| c.subject().map(str::to_owned))
            .unwrap_or_default(),
    ));
    let headers = response.headers_mut();
    headers.insert(REACHED, "1".parse().unwrap());
    if let Some(d) = decision {
        headers.insert("x-caller", d.caller().as_str().parse().unwrap());
        let mfa = d.mfa().map_or("none", |m| m.as_str());
        headers.insert("x-mfa", mfa.parse().unwrap());
        headers.insert("x-rule", d.rule().parse().unwrap());
        headers.insert("x-issuer", d.issuer().parse().unwrap());
        if let Some(reported) = d.reported() {
            // The reason code the decision log carries.
            headers.insert("x-reported", reported.as_str().parse().unwrap());
        }
    }
    response
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub reason: Option<String>,
}

impl Reply {
    pub async fn read<B>(response: Response<B>) -> Self
    where
        B: http_body::Body,
        B::Error: std::fmt::Debug,
    {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        let reason = parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
            reason,
        }
    }

    /// Whether the inner service produced this response.
    pub fn reached(&self) -> bool {
        self.headers.contains_key(REACHED)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    pub fn challenge(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts a refusal with this status and challenge that never reached
    /// the inner service.
    #[track_caller]
    pub fn assert_refused(&self, status: StatusCode, challenge: Option<&str>) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.challenge(), challenge, "{self:?}");
        assert!(
            !self.reached(),
            "a refused request reached the inner service"
        );
    }

    /// 401 `invalid_token` with the exact §5 challenge.
    #[track_caller]
    pub fn assert_invalid_token(&self) {
        self.assert_refused(StatusCode::UNAUTHORIZED, Some(INVALID_TOKEN));
        assert_eq!(self.json()["status"], 401);
    }

    /// Partner Center's missing-MFA answer.
    #[track_caller]
    pub fn assert_mfa_required(&self) {
        self.assert_refused(StatusCode::UNAUTHORIZED, Some(MFA_PARTNER_CENTER));
        assert_eq!(
            self.reason.as_deref(),
            Some("Unauthorized - MFA required"),
            "{self:?}"
        );
    }

    /// The inner service answered.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert!(self.reached(), "{self:?}");
        assert_eq!(self.challenge(), None);
    }
}

/// A clock stopped at a whole second near the real time (tokens minted by
/// `mint::user_claims` are valid at it).
pub fn clock() -> ManualClock {
    ManualClock::at(UNIX_EPOCH + Duration::from_secs(mint::now()))
}

/// Seconds since the epoch of `clock`.
pub fn secs(clock: &ManualClock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

/// `claims` with `iat`, `nbf`, `exp` moved to the clock's time
/// (`iat = nbf = t - 10`, `exp = t + 3600`).
pub fn at(clock: &ManualClock, mut claims: Value) -> Value {
    let t = secs(clock);
    claims["iat"] = (t - 10).into();
    claims["nbf"] = (t - 10).into();
    claims["exp"] = (t + 3600).into();
    claims
}

/// The seed's user claims with this `amr`, valid at the clock's time.
pub fn user_at(clock: &ManualClock, amr: &[&str]) -> Value {
    at(clock, mint::user_claims(amr))
}

/// The builder every test starts from: the Partner Center issuer and audience.
pub fn base() -> Builder {
    RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
}

/// A layer over the in-process JWKS server: the issuer and audience of
/// [`base`], keys fetched from `server` over plain HTTP on loopback.
pub fn over_jwks_server(server: &mint::JwksServer) -> Builder {
    base().jwks_url(server.jwks_url()).allow_http_loopback(true)
}

/// A layer over static keys.
pub fn static_builder(keys: &[&mint::TestKey]) -> Builder {
    base()
        .static_jwks(mint::jwks(keys).to_string().as_bytes())
        .expect("static JWKS")
}

/// A layer in front of a counting inner service.
pub struct Harness {
    pub layer: RequireMfaLayer,
    pub service: RequireMfa<Inner>,
    pub inner: Inner,
}

impl Harness {
    pub fn new(builder: Builder) -> Self {
        let layer = builder.build().expect("valid configuration");
        let inner = Inner::default();
        let service = layer.layer(inner.clone());
        Self {
            layer,
            service,
            inner,
        }
    }

    /// Sends one request through a clone of the service.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.service.clone().oneshot(req).await.expect("infallible");
        Reply::read(response).await
    }

    /// `GET path` with `Authorization: Bearer token`.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(get(path, Some(token))).await
    }
}

/// `GET path`, with a bearer token when given.
pub fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

/// Polls `done` with short pauses until it holds, at most about 5 s; for
/// events that happen in the background (a refresh task), not for timing.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
