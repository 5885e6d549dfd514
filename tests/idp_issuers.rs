//! Two real OpenID Providers (tests/idp, oidc-provider on Node) behind one
//! layer: each provider is its own issuer, with its own keys, fetches and
//! outage state. Without Node the tests skip loudly; under `CI=true` they
//! fail (see tests/support/idp.rs).
#[path = "support/harness.rs"]
mod harness;
#[path = "support/idp.rs"]
mod idp;
#[path = "support/mint.rs"]
mod mint;

use http::StatusCode;
use tower_mfa::{Issuer, RequireMfaLayer, Rule};

use harness::Harness;
use idp::{API_AUDIENCE, TestIdp};

fn issuer(name: &str, idp: &TestIdp) -> Issuer {
    Issuer::new(name, idp.issuer())
        .audience(API_AUDIENCE)
        .discover_from_issuer()
}

async fn two() -> Option<(TestIdp, TestIdp, Harness)> {
    let a = idp::start_or_skip().await?;
    let b = idp::start_or_skip().await?;
    assert_ne!(a.issuer(), b.issuer());
    let h = Harness::new(
        RequireMfaLayer::builder()
            .trust(issuer("idp-a", &a))
            .trust(issuer("idp-b", &b))
            .allow_http_loopback(true)
            .rule(Rule::mfa("/v1/customers/**")),
    );
    Some((a, b, h))
}

#[tokio::test]
async fn two_providers_behind_one_layer_each_verified_with_its_own_keys() {
    let Some((a, b, h)) = two().await else { return };
    let token_a = a.user_token(true).await.access_token;
    let token_b = b.user_token(true).await.access_token;
    let reply = h.get("/v1/customers", &token_a).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-issuer"), Some("idp-a"));
    assert_eq!(h.layer.key_fetches_of("idp-a"), Some(1));
    assert_eq!(h.layer.key_fetches_of("idp-b"), Some(0), "idp-b untouched");
    let reply = h.get("/v1/customers", &token_b).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-issuer"), Some("idp-b"));
    assert_eq!(h.layer.key_fetches_of("idp-b"), Some(1));
    // MFA is still required per route, whichever issuer.
    let no_mfa = b.user_token(false).await.access_token;
    h.get("/v1/customers", &no_mfa).await.assert_mfa_required();
    // idp-a rotates its key: only idp-a's keys are fetched again.
    a.rotate_keys(false).await;
    let rotated = a.user_token(true).await.access_token;
    h.get("/v1/customers", &rotated).await.assert_passed();
    assert_eq!(h.layer.key_fetches_of("idp-a"), Some(2));
    assert_eq!(h.layer.key_fetches_of("idp-b"), Some(1));
}

#[tokio::test]
async fn one_provider_down_never_touches_the_others_tokens() {
    let Some((a, b, h)) = two().await else { return };
    let token_a = a.user_token(true).await.access_token;
    let token_b = b.user_token(true).await.access_token;
    b.stop();
    let reply = h.get("/v1/customers", &token_b).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.header("retry-after").is_some());
    for _ in 0..3 {
        h.get("/v1/customers", &token_a).await.assert_passed();
    }
    assert_eq!(h.layer.cached_keys_of("idp-b"), Some(0));
    assert!(h.layer.cached_keys_of("idp-a").unwrap_or(0) >= 1);
    assert_eq!(h.layer.key_fetches_of("idp-a"), Some(1));
}
