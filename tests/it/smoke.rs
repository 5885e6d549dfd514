//! A first end-to-end check of the layer with the in-process JWKS server.
use crate::{harness, mint};

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_mfa::{Claims, Rule};

#[tokio::test]
async fn seed_cases_over_a_jwks_url() {
    let key = mint::rsa_key();
    let server = mint::JwksServer::start(mint::jwks(&[key])).await;
    let layer = harness::over_jwks_server(&server)
        .rule(Rule::public("/healthz"))
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/v1/customers",
            get(|c: Claims| async move { c.subject().unwrap_or("").to_owned() }),
        )
        .layer(layer);
    let call = |token: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::get("/v1/customers");
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
        }
    };
    let ok = call(Some(key.token(&mint::user_claims(&["pwd", "mfa"])))).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let no_mfa = call(Some(key.token(&mint::user_claims(&["pwd"])))).await;
    assert_eq!(no_mfa.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        no_mfa.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let app_only = call(Some(key.token(&mint::app_claims()))).await;
    assert_eq!(app_only.status(), StatusCode::OK);
    let none = call(None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(server.jwks_hits(), 1);
}
