//! The two answer hooks: a refusal-body renderer and a browser predicate,
//! each against the default behaviour.
use crate::{harness, mint};

use axum::body::Body;
use harness::{Harness, MFA_PARTNER_CENTER, clock, static_builder, user_at};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use tower_mfa::{ErrorKind, Refusal, RefusalBody, Rule};

const STEP_UP: &str = "https://portal.example.com/step-up";

fn request(path: &str, token: &str, header: (&str, &str)) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .header(header.0, header.1)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_renderer_writes_every_refusal_body() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**"))
            .rule(Rule::authenticated("/scoped").require_scope("Invoices.Read"))
            .refusal_renderer(|r: Refusal| RefusalBody {
                content_type: HeaderValue::from_static("text/plain; charset=utf-8"),
                body: format!(
                    "{} {}",
                    r.status.as_u16(),
                    match r.kind {
                        ErrorKind::MfaRequired => "mfa",
                        ErrorKind::InsufficientScope => "scope",
                        _ => "other",
                    }
                )
                .into(),
            }),
    );
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let reply = h.get("/v1/customers", &pwd).await;
    reply.assert_mfa_required();
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(&reply.body[..], b"401 mfa");
    let reply = h.get("/scoped", &pwd).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(&reply.body[..], b"403 scope");
    let reply = h.get("/v1/customers", "not-a-token").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&reply.body[..], b"401 other");
}

#[tokio::test]
async fn the_default_body_is_a_problem_document() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let reply = h.get("/v1/customers", &pwd).await;
    reply.assert_mfa_required();
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json()["title"], "Unauthorized - MFA required");
}

#[tokio::test]
async fn the_browser_predicate_decides_who_is_redirected() {
    let clock = clock();
    let layer = |custom: bool| {
        let b = static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .step_up_url(STEP_UP)
            .rule(Rule::mfa("/v1/**"));
        Harness::new(if custom {
            b.browser_predicate(|h: &HeaderMap| {
                h.get("sec-fetch-mode").is_some_and(|v| v == "navigate")
            })
        } else {
            b
        })
    };
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let navigate = ("sec-fetch-mode", "navigate");
    let html = ("accept", "text/html");

    let default = layer(false);
    default
        .send(request("/v1/x", &pwd, navigate))
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some(MFA_PARTNER_CENTER));
    let reply = default.send(request("/v1/x", &pwd, html)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);

    let custom = layer(true);
    let reply = custom.send(request("/v1/x", &pwd, navigate)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
    assert!(
        reply
            .header("location")
            .is_some_and(|l| l.starts_with(STEP_UP))
    );
    custom
        .send(request("/v1/x", &pwd, html))
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some(MFA_PARTNER_CENTER));
}
