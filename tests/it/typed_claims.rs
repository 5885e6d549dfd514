//! A handler's own claim type through the layer: `VerifiedClaims<T>` reads
//! the verified payload once per request, and a payload that does not fit
//! is a 401 `invalid_token` whose body carries no serde message.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use serde::{Deserialize, Deserializer};
use tower::ServiceExt;
use tower_mfa::Rule;
use tower_mfa::axum::VerifiedClaims;

use crate::harness::{self, Reply};
use crate::mint;

/// The claims a partner API needs; `tid` is required.
#[derive(Debug)]
struct Partner {
    tid: String,
    roles: Vec<String>,
    tier: Option<u32>,
}

/// How many times a `Partner` was deserialized (only this module reads it).
static READS: AtomicUsize = AtomicUsize::new(0);

impl<'de> Deserialize<'de> for Partner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            tid: String,
            #[serde(default)]
            roles: Vec<String>,
            #[serde(default)]
            tier: Option<u32>,
        }
        READS.fetch_add(1, Ordering::SeqCst);
        Raw::deserialize(d).map(|raw| Self {
            tid: raw.tid,
            roles: raw.roles,
            tier: raw.tier,
        })
    }
}

/// A middleware that reads the same type before the handler does.
async fn audit(claims: VerifiedClaims<Partner>, request: Request, next: Next) -> Response {
    assert!(!claims.tid.is_empty());
    next.run(request).await
}

async fn customers(claims: VerifiedClaims<Partner>) -> String {
    format!("{} {} {:?}", claims.tid, claims.roles.len(), claims.tier)
}

fn app(clock: &tower_mfa::clock::ManualClock) -> Router {
    let mfa = harness::static_builder(&[mint::rsa_key()])
        .clock(clock.clone())
        .rule(Rule::public("/open"))
        .rule(Rule::authenticated("/v1/**"))
        .build()
        .unwrap();
    Router::new()
        .route("/v1/customers", get(customers))
        .route("/open", get(customers))
        .route_layer(from_fn(audit))
        .layer(mfa)
}

async fn call(app: &Router, path: &str, token: Option<&str>) -> Reply {
    let response = app
        .clone()
        .oneshot(harness::get(path, token))
        .await
        .unwrap();
    Reply::read(response).await
}

#[tokio::test]
async fn verified_claims_are_read_once_and_refused_when_they_do_not_fit() {
    let clock = harness::clock();
    let app = app(&clock);

    // Fits: the middleware and the handler share one deserialization.
    let before = READS.load(Ordering::SeqCst);
    let mut claims = harness::user_at(&clock, &["pwd"]);
    claims["roles"] = serde_json::json!(["Admin", "Reader"]);
    claims["tier"] = 3.into();
    let token = mint::rsa_key().token(&claims);
    let reply = call(&app, "/v1/customers", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, format!("{} 2 Some(3)", mint::TENANT).as_bytes());
    assert_eq!(READS.load(Ordering::SeqCst) - before, 1);

    // Does not fit (no `tid`): 401 invalid_token, no serde text anywhere.
    let mut claims = harness::user_at(&clock, &["pwd"]);
    claims.as_object_mut().unwrap().remove("tid");
    let reply = call(&app, "/v1/customers", Some(&mint::rsa_key().token(&claims))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge(),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"The token lacks claims this API requires\""
        )
    );
    let body = String::from_utf8_lossy(&reply.body);
    assert!(!body.contains("missing field"), "{body}");
    assert!(!body.contains("tid"), "{body}");
    assert_eq!(reply.json()["status"], 401);

    // A custom claim (one the crate does not type) with another JSON type
    // does not fit either.
    let mut claims = harness::user_at(&clock, &["pwd"]);
    claims["tier"] = serde_json::json!("platinum");
    let reply = call(&app, "/v1/customers", Some(&mint::rsa_key().token(&claims))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge(),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"The token lacks claims this API requires\""
        )
    );
    assert!(!String::from_utf8_lossy(&reply.body).contains("platinum"));

    // No verified token (a public route): the bare Bearer challenge.
    let reply = call(&app, "/open", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), Some("Bearer"));
}
