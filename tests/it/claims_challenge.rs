//! Entra's claims challenge: clients that declare `cp1` get
//! `error="insufficient_claims"` with a base64 claims request; others keep
//! the Partner Center answer.
use crate::mint;

use axum::{Router, body::Body, routing::get};
use base64::Engine;
use http::{Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;
use tower_mfa::{ClaimsChallenge, RequireMfaLayer, Rule};

async fn answer(token: &str) -> http::Response<Body> {
    let key = mint::rsa_key();
    let layer = RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(mint::jwks(&[key]).to_string().as_bytes())
        .unwrap()
        .entra_claims_challenge(ClaimsChallenge {
            authorization_uri: "https://login.microsoftonline.com/common/oauth2/authorize".into(),
            auth_context: "c1".into(),
        })
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/customers", get(|| async { "customers" }))
        .layer(layer);
    let req = Request::get("/v1/customers")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(req).await.unwrap()
}

#[tokio::test]
async fn a_cp1_client_gets_the_claims_challenge() {
    let mut claims = mint::user_claims(&["pwd"]);
    claims["xms_cc"] = json!(["cp1"]);
    let response = answer(&mint::rsa_key().token(&claims)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected_claims = base64::engine::general_purpose::STANDARD
        .encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#);
    assert_eq!(
        challenge,
        format!(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{expected_claims}\""
        )
    );
    assert!(
        response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .is_none()
    );
}

#[tokio::test]
async fn cp1_is_compared_case_insensitively() {
    for cap in ["CP1", "Cp1", "cP1"] {
        let mut claims = mint::user_claims(&["pwd"]);
        claims["xms_cc"] = json!(["cp2", cap]);
        let response = answer(&mint::rsa_key().token(&claims)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cap}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_claims\""),
            "{cap}: {challenge}"
        );
    }
}

#[tokio::test]
async fn other_clients_keep_the_partner_center_answer() {
    for caps in [
        json!(null),
        json!([]),
        json!(["cp2"]),
        json!(["cp1x", "xcp1"]),
    ] {
        let mut claims = mint::user_claims(&["pwd"]);
        if !caps.is_null() {
            claims["xms_cc"] = caps.clone();
        }
        let response = answer(&mint::rsa_key().token(&claims)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{caps}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{caps}"
        );
    }
}

#[tokio::test]
async fn a_cp1_client_with_mfa_passes_and_a_bad_xms_cc_is_an_invalid_token() {
    let mut claims = mint::user_claims(&["pwd", "mfa"]);
    claims["xms_cc"] = json!(["cp1"]);
    assert_eq!(
        answer(&mint::rsa_key().token(&claims)).await.status(),
        StatusCode::OK
    );
    claims["xms_cc"] = json!("cp1");
    let response = answer(&mint::rsa_key().token(&claims)).await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\""
    );
}
