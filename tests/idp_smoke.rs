//! Smoke test of the test OpenID Provider harness (tests/idp, tests/support/idp.rs) on its own,
//! without the layer: the tokens it issues look like what the layer's tests rely on.

#[path = "support/idp.rs"]
mod idp;

use idp::{API_AUDIENCE, API_SCOPE, APP_CLIENT_ID, USER, decode_jwt};
use serde_json::{Value, json};

fn kid(token: &str) -> String {
    let (header, _) = decode_jwt(token);
    header["kid"].as_str().expect("kid in header").to_owned()
}

fn assert_user_token(token: &str, issuer: &str, amr: Value) {
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["typ"], "at+jwt", "header: {header}");
    assert_eq!(header["alg"], "RS256", "header: {header}");
    assert_eq!(claims["sub"], USER, "claims: {claims}");
    assert_eq!(claims["aud"], API_AUDIENCE, "claims: {claims}");
    assert_eq!(claims["iss"], issuer, "claims: {claims}");
    assert_eq!(claims["scope"], API_SCOPE, "claims: {claims}");
    assert_eq!(claims["amr"], amr, "claims: {claims}");
    assert!(claims["auth_time"].is_u64(), "claims: {claims}");
    assert!(claims["acr"].is_string(), "claims: {claims}");
    assert!(claims["exp"].is_u64(), "claims: {claims}");
}

#[tokio::test]
async fn provider_issues_the_tokens_the_layer_tests_need() {
    let started = std::time::Instant::now();
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let issuer = idp.issuer().to_owned();
    assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
    assert_eq!(idp.jwks_uri(), format!("{issuer}/jwks"));

    // App-only token: client credentials.
    let app = idp.app_token().await;
    let (header, claims) = decode_jwt(&app);
    assert_eq!(header["typ"], "at+jwt", "header: {header}");
    assert_eq!(header["alg"], "RS256", "header: {header}");
    assert_eq!(claims["sub"], APP_CLIENT_ID, "claims: {claims}");
    assert_eq!(claims["client_id"], APP_CLIENT_ID, "claims: {claims}");
    assert_eq!(claims["scope"], API_SCOPE, "claims: {claims}");
    assert_eq!(claims["aud"], API_AUDIENCE, "claims: {claims}");
    assert_eq!(claims["iss"], issuer, "claims: {claims}");
    assert!(claims.get("amr").is_none(), "app token has amr: {claims}");

    let first_kid = kid(&app);
    assert_eq!(idp.jwks_kids().await, vec![first_kid.clone()]);

    // Password-only and MFA user tokens: authorization code + PKCE, headless login.
    let pwd = idp.user_token(false).await;
    assert_user_token(&pwd.access_token, &issuer, json!(["pwd"]));
    let mfa = idp.user_token(true).await;
    assert_user_token(&mfa.access_token, &issuer, json!(["pwd", "mfa"]));
    assert_eq!(kid(&mfa.access_token), first_kid);

    // A refreshed token keeps amr.
    let refreshed = idp.refresh(&mfa.refresh_token).await;
    assert_user_token(&refreshed.access_token, &issuer, json!(["pwd", "mfa"]));
    assert_ne!(refreshed.access_token, mfa.access_token);
    let refreshed_pwd = idp.refresh(&pwd.refresh_token).await;
    assert_user_token(&refreshed_pwd.access_token, &issuer, json!(["pwd"]));

    // Rotation keeping the old key: JWKS [new, old], new tokens signed with the new key.
    let second_kid = idp.rotate_keys(true).await;
    assert_ne!(second_kid, first_kid);
    assert_eq!(
        idp.jwks_kids().await,
        vec![second_kid.clone(), first_kid.clone()]
    );
    assert_eq!(kid(&idp.app_token().await), second_kid);
    // Refresh tokens survive a rotation, and so does amr.
    let after_rotation = idp.refresh(&refreshed.refresh_token).await;
    assert_user_token(&after_rotation.access_token, &issuer, json!(["pwd", "mfa"]));
    assert_eq!(kid(&after_rotation.access_token), second_kid);

    // Rotation dropping the old keys: JWKS [new] only.
    let third_kid = idp.rotate_keys(false).await;
    assert!(third_kid != first_kid && third_kid != second_kid);
    assert_eq!(idp.jwks_kids().await, vec![third_kid.clone()]);
    let user = idp.user_token(true).await;
    assert_user_token(&user.access_token, &issuer, json!(["pwd", "mfa"]));
    assert_eq!(kid(&user.access_token), third_kid);

    // Down: the port refuses connections.
    assert!(idp.is_running());
    idp.stop();
    assert!(!idp.is_running());
    let down = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(idp.jwks_uri())
        .send()
        .await;
    assert!(down.is_err(), "provider still answers after stop: {down:?}");

    eprintln!("idp smoke test took {:?}", started.elapsed());
}

#[tokio::test]
async fn parallel_providers_get_their_own_ports() {
    let (a, b) = tokio::join!(idp::start_or_skip(), idp::start_or_skip());
    let (Some(a), Some(b)) = (a, b) else {
        return;
    };
    assert_ne!(a.issuer(), b.issuer());
    let (ta, tb) = tokio::join!(a.app_token(), b.app_token());
    assert_eq!(decode_jwt(&ta).1["iss"], a.issuer());
    assert_eq!(decode_jwt(&tb).1["iss"], b.issuer());
}
