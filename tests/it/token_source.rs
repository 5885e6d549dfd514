//! A pluggable token source (docs/ARCHITECTURE.md, the pipeline step 2): a WebSocket handshake
//! carries its token in `Sec-WebSocket-Protocol`.
use crate::mint;

use axum::{Router, body::Body, routing::get};
use http::{HeaderMap, Request, StatusCode, Uri};
use tower::ServiceExt;
use tower_mfa::{Claims, RequireMfaLayer, Rule, TokenSource};

struct WebSocketProtocol;

impl TokenSource for WebSocketProtocol {
    fn token<'r>(&self, headers: &'r HeaderMap, _uri: &'r Uri) -> Option<&'r str> {
        headers
            .get("sec-websocket-protocol")?
            .to_str()
            .ok()?
            .strip_prefix("access_token, ")
    }
}

fn app(with_source: bool) -> Router {
    let key = mint::rsa_key();
    let mut builder = RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(mint::jwks(&[key]).to_string().as_bytes())
        .unwrap()
        .rule(Rule::mfa("/v1/**"));
    if with_source {
        builder = builder.token_source(WebSocketProtocol);
    }
    Router::new()
        .route(
            "/v1/stream",
            get(|claims: Claims| async move { claims.subject().unwrap_or("").to_owned() }),
        )
        .layer(builder.build().unwrap())
}

async fn call(app: Router, headers: &[(&str, String)]) -> (StatusCode, String) {
    let mut req = Request::get("/v1/stream");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let response = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

#[tokio::test]
async fn the_source_is_read_only_when_plugged_in() {
    let token = mint::rsa_key().token(&mint::user_claims(&["pwd", "mfa"]));
    let protocol = ("sec-websocket-protocol", format!("access_token, {token}"));
    assert_eq!(
        call(app(true), std::slice::from_ref(&protocol)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(app(false), &[protocol]).await,
        (StatusCode::UNAUTHORIZED, "Bearer".to_owned())
    );
}

#[tokio::test]
async fn a_token_sent_two_ways_or_malformed_is_a_bad_request() {
    let token = mint::rsa_key().token(&mint::user_claims(&["pwd", "mfa"]));
    let invalid_request = "Bearer error=\"invalid_request\", error_description=\"The request carries a malformed or duplicated credential\"";
    let both = [
        ("authorization", format!("Bearer {token}")),
        ("sec-websocket-protocol", format!("access_token, {token}")),
    ];
    assert_eq!(
        call(app(true), &both).await,
        (StatusCode::BAD_REQUEST, invalid_request.to_owned())
    );
    let malformed = [("sec-websocket-protocol", "access_token, a=b".to_owned())];
    assert_eq!(
        call(app(true), &malformed).await,
        (StatusCode::BAD_REQUEST, invalid_request.to_owned())
    );
}

#[tokio::test]
async fn a_token_from_the_source_is_verified_like_any_other() {
    let token = mint::rsa_key().token(&mint::user_claims(&["pwd"]));
    let protocol = [("sec-websocket-protocol", format!("access_token, {token}"))];
    assert_eq!(
        call(app(true), &protocol).await,
        (
            StatusCode::UNAUTHORIZED,
            "Bearer error=\"invalid_token\"".to_owned()
        )
    );
    let forged = format!("{}x", &token[..token.len() - 1]);
    let protocol = [("sec-websocket-protocol", format!("access_token, {forged}"))];
    assert_eq!(call(app(true), &protocol).await.0, StatusCode::UNAUTHORIZED);
}
