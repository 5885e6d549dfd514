//! The layer against a real OpenID Provider (tests/idp, oidc-provider on Node).
//!
//! Every test starts its own provider and configures the layer with nothing but the provider's
//! issuer URL (OIDC discovery), `allow_http_loopback(true)` and the API audience. Without Node
//! the tests skip loudly; under `CI=true` they fail (see tests/support/idp.rs).

#[path = "support/idp.rs"]
mod idp;

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_mfa::clock::ManualClock;
use tower_mfa::{Builder, Caller, Claims, Decision, RequireMfaLayer, Rule};

use idp::{API_AUDIENCE, API_SCOPE, APP_CLIENT_ID, TestIdp, USER, WEB_CLIENT_ID, decode_jwt};

/// An `mfa` route.
const MFA_ROUTE: &str = "/v1/customers";
/// A route that needs a valid token, MFA or not.
const AUTH_ROUTE: &str = "/v1/me";
/// Partner Center's answer to a missing MFA, exactly.
const PARTNER_CENTER_CHALLENGE: &str = "Bearer error=\"invalid_token\"";

/// The builder every test starts from: the provider's issuer, discovery from it, loopback http,
/// the audience, and the two routes.
fn builder(idp: &TestIdp) -> Builder {
    RequireMfaLayer::builder()
        .issuer(idp.issuer())
        .discover_from_issuer()
        .allow_http_loopback(true)
        .audience(API_AUDIENCE)
        .rule(Rule::mfa("/v1/customers/**"))
        .rule(Rule::authenticated("/v1/me"))
}

/// What the handler saw: the `Claims` and `Decision` extractors, as JSON.
async fn echo(claims: Claims, decision: Decision) -> Json<Value> {
    Json(json!({
        "subject": claims.subject(),
        "amr": claims.amr(),
        "client_id": claims.client_id(),
        "scopes": claims.scopes().collect::<Vec<_>>(),
        "caller": decision.caller().as_str(),
        "mfa": decision.mfa().map(|p| p.as_str()),
        "all": claims.as_map(),
    }))
}

fn app(layer: &RequireMfaLayer) -> Router {
    Router::new()
        .route(MFA_ROUTE, get(echo))
        .route(AUTH_ROUTE, get(echo))
        .layer(layer.clone())
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    reason_phrase: Option<Vec<u8>>,
    body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (what [`echo`] saw), after checking the request passed.
    #[track_caller]
    fn seen(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.describe());
        serde_json::from_slice(&self.body).expect("the handler answers JSON")
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    fn describe(&self) -> String {
        format!(
            "status {}, headers {:?}, body {}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }

    /// 401 `invalid_token` (with or without a description), no `Retry-After`.
    #[track_caller]
    fn assert_invalid_token(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.describe());
        let challenge = self
            .header(header::WWW_AUTHENTICATE)
            .unwrap_or_else(|| panic!("no WWW-Authenticate: {}", self.describe()));
        assert!(
            challenge == PARTNER_CENTER_CHALLENGE
                || challenge.starts_with("Bearer error=\"invalid_token\", "),
            "{}",
            self.describe()
        );
        assert!(
            self.headers.get(header::RETRY_AFTER).is_none(),
            "{}",
            self.describe()
        );
    }

    /// Partner Center's missing-MFA answer.
    #[track_caller]
    fn assert_mfa_required(&self) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.describe());
        let challenges: Vec<_> = self
            .headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(
            challenges,
            [PARTNER_CENTER_CHALLENGE],
            "{}",
            self.describe()
        );
        assert_eq!(
            self.reason_phrase.as_deref(),
            Some(tower_mfa::MFA_REASON_PHRASE.as_bytes()),
            "{}",
            self.describe()
        );
    }

    /// 503 with a `Retry-After` of at most the 30 s cooldown; returns it.
    #[track_caller]
    fn assert_unavailable(&self) -> u64 {
        assert_eq!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            self.describe()
        );
        let retry_after: u64 = self
            .header(header::RETRY_AFTER)
            .unwrap_or_else(|| panic!("no Retry-After: {}", self.describe()))
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=30).contains(&retry_after), "{}", self.describe());
        retry_after
    }
}

async fn call(app: &Router, path: &str, token: &str) -> Reply {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
    Reply {
        status: parts.status,
        reason_phrase: parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|p| p.as_bytes().to_vec()),
        headers: parts.headers,
        body,
    }
}

fn kid(token: &str) -> String {
    decode_jwt(token).0["kid"]
        .as_str()
        .expect("kid in the header")
        .to_owned()
}

fn payload(token: &str) -> Value {
    decode_jwt(token).1
}

/// The handler saw exactly what the provider put in `token`.
#[track_caller]
fn assert_seen_matches(seen: &Value, token: &str) {
    let issued = payload(token);
    assert_eq!(
        seen["all"], issued,
        "claims differ from the token's payload"
    );
    assert_eq!(seen["subject"], issued["sub"]);
    assert_eq!(seen["client_id"], issued["client_id"]);
    assert_eq!(seen["amr"], issued.get("amr").cloned().unwrap_or(json!([])));
    let scopes: Vec<&str> = issued["scope"]
        .as_str()
        .expect("scope")
        .split(' ')
        .collect();
    assert_eq!(seen["scopes"], json!(scopes));
}

#[tokio::test]
async fn app_only_token_reaches_an_mfa_route() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = builder(&idp).build().unwrap();
    let app = app(&layer);

    let token = idp.app_token().await;
    let issued = payload(&token);
    assert_eq!(issued["sub"], APP_CLIENT_ID, "{issued}");
    assert_eq!(issued["client_id"], APP_CLIENT_ID, "{issued}");
    assert_eq!(issued["scope"], API_SCOPE, "{issued}");
    assert!(issued.get("amr").is_none(), "{issued}");

    let seen = call(&app, MFA_ROUTE, &token).await.seen();
    assert_eq!(seen["caller"], Caller::App.as_str());
    assert_eq!(seen["mfa"], Value::Null);
    assert_eq!(seen["subject"], APP_CLIENT_ID);
    assert_eq!(seen["client_id"], APP_CLIENT_ID);
    assert_eq!(seen["amr"], json!([]));
    assert_eq!(seen["scopes"], json!([API_SCOPE]));
    assert_seen_matches(&seen, &token);

    call(&app, AUTH_ROUTE, &token).await.seen();
    assert_eq!(layer.key_fetches(), 1);
}

#[tokio::test]
async fn password_only_user_is_refused_on_mfa_routes_only() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = builder(&idp).build().unwrap();
    let app = app(&layer);

    let token = idp.user_token(false).await.access_token;
    assert_eq!(payload(&token)["amr"], json!(["pwd"]));

    let refused = call(&app, MFA_ROUTE, &token).await;
    refused.assert_mfa_required();
    // Also under the rule's `**`.
    call(&app, "/v1/customers/42", &token)
        .await
        .assert_mfa_required();

    let seen = call(&app, AUTH_ROUTE, &token).await.seen();
    assert_eq!(seen["caller"], Caller::User.as_str());
    assert_eq!(seen["subject"], USER);
    assert_eq!(seen["amr"], json!(["pwd"]));
    assert_seen_matches(&seen, &token);
    assert_eq!(layer.key_fetches(), 1);
}

#[tokio::test]
async fn mfa_user_token_passes_with_the_issued_claims() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = builder(&idp).build().unwrap();
    let app = app(&layer);

    let token = idp.user_token(true).await.access_token;
    let seen = call(&app, MFA_ROUTE, &token).await.seen();
    assert_eq!(seen["caller"], Caller::User.as_str());
    assert_eq!(seen["mfa"], tower_mfa::MfaProof::Amr.as_str());
    assert_eq!(seen["subject"], USER);
    assert_eq!(seen["amr"], json!(["pwd", "mfa"]));
    assert_eq!(seen["client_id"], WEB_CLIENT_ID);
    assert_eq!(seen["scopes"], json!([API_SCOPE]));
    assert_seen_matches(&seen, &token);

    let seen = call(&app, AUTH_ROUTE, &token).await.seen();
    assert_seen_matches(&seen, &token);
    assert_eq!(layer.key_fetches(), 1);
}

#[tokio::test]
async fn refreshed_access_tokens_keep_their_amr() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = builder(&idp).build().unwrap();
    let app = app(&layer);

    let mfa = idp.user_token(true).await;
    call(&app, MFA_ROUTE, &mfa.access_token).await.seen();
    let refreshed = idp.refresh(&mfa.refresh_token).await;
    assert_ne!(refreshed.access_token, mfa.access_token);
    let seen = call(&app, MFA_ROUTE, &refreshed.access_token).await.seen();
    assert_eq!(seen["amr"], json!(["pwd", "mfa"]));
    assert_eq!(seen["mfa"], tower_mfa::MfaProof::Amr.as_str());
    assert_seen_matches(&seen, &refreshed.access_token);
    // Refresh tokens rotate: the next refresh uses the new one, and amr still holds.
    let again = idp.refresh(&refreshed.refresh_token).await;
    let seen = call(&app, MFA_ROUTE, &again.access_token).await.seen();
    assert_eq!(seen["amr"], json!(["pwd", "mfa"]));

    // A refreshed password-only token stays password-only.
    let pwd = idp.user_token(false).await;
    let refreshed_pwd = idp.refresh(&pwd.refresh_token).await;
    call(&app, MFA_ROUTE, &refreshed_pwd.access_token)
        .await
        .assert_mfa_required();
    let seen = call(&app, AUTH_ROUTE, &refreshed_pwd.access_token)
        .await
        .seen();
    assert_eq!(seen["amr"], json!(["pwd"]));
    assert_eq!(layer.key_fetches(), 1);
}

#[tokio::test]
async fn rotation_keeping_old_keys_costs_one_fetch() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = builder(&idp).build().unwrap();
    let app = app(&layer);

    let old_app = idp.app_token().await;
    let old_user = idp.user_token(true).await;
    let old_kid = kid(&old_app);
    assert_eq!(kid(&old_user.access_token), old_kid);
    call(&app, MFA_ROUTE, &old_app).await.seen();
    call(&app, MFA_ROUTE, &old_user.access_token).await.seen();
    assert_eq!(layer.key_fetches(), 1);
    assert_eq!(layer.cached_keys(), 1);

    let new_kid = idp.rotate_keys(true).await;
    assert_ne!(new_kid, old_kid);
    let new_app = idp.app_token().await;
    let new_user = idp.refresh(&old_user.refresh_token).await.access_token;
    assert_eq!(kid(&new_app), new_kid);
    assert_eq!(kid(&new_user), new_kid);

    // Several requests with the new kid at once: one fetch between them.
    let first = futures_util::future::join_all((0..8).map(|i| {
        call(
            &app,
            MFA_ROUTE,
            if i % 2 == 0 { &new_app } else { &new_user },
        )
    }))
    .await;
    for reply in &first {
        reply.seen();
    }
    assert_eq!(layer.key_fetches(), 2);
    assert_eq!(layer.cached_keys(), 2);

    for token in [&old_app, &old_user.access_token, &new_app, &new_user] {
        let seen = call(&app, MFA_ROUTE, token).await.seen();
        assert_seen_matches(&seen, token);
    }
    assert_eq!(layer.key_fetches(), 2);
}

#[tokio::test]
async fn rotation_dropping_old_keys() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let clock = ManualClock::now_real();
    let layer = builder(&idp).clock(clock.clone()).build().unwrap();
    let app = app(&layer);

    let old_app = idp.app_token().await;
    let old_user = idp.user_token(true).await.access_token;
    call(&app, MFA_ROUTE, &old_app).await.seen();
    assert_eq!(layer.key_fetches(), 1);

    let new_kid = idp.rotate_keys(false).await;
    assert_eq!(idp.jwks_kids().await, vec![new_kid.clone()]);
    let new_app = idp.app_token().await;
    let new_user = idp.user_token(true).await.access_token;
    assert_eq!(kid(&new_user), new_kid);

    // New tokens pass after one refresh.
    call(&app, MFA_ROUTE, &new_user).await.seen();
    assert_eq!(layer.key_fetches(), 2);
    assert_eq!(layer.cached_keys(), 1);
    call(&app, MFA_ROUTE, &new_app).await.seen();

    // Old tokens fail now that the layer has refreshed, without another fetch (cooldown).
    call(&app, MFA_ROUTE, &old_app).await.assert_invalid_token();
    call(&app, AUTH_ROUTE, &old_user)
        .await
        .assert_invalid_token();
    assert_eq!(layer.key_fetches(), 2);

    // After the cooldown, an old token triggers one more refresh, and is still refused.
    clock.advance(Duration::from_secs(31));
    call(&app, MFA_ROUTE, &old_user)
        .await
        .assert_invalid_token();
    assert_eq!(layer.key_fetches(), 3);
    call(&app, MFA_ROUTE, &new_user).await.seen();
    assert_eq!(layer.key_fetches(), 3);
}

/// A layer that holds only the provider's first key, a token under that key, and a token under
/// a key published after that (by a rotation keeping the old keys or not), with the provider
/// stopped.
struct Down {
    clock: ManualClock,
    layer: RequireMfaLayer,
    app: Router,
    old_tokens: Vec<String>,
    new_token: String,
}

async fn provider_down(idp: TestIdp, keep_old: bool, configure: fn(Builder) -> Builder) -> Down {
    let clock = ManualClock::now_real();
    let layer = configure(builder(&idp).clock(clock.clone()))
        .build()
        .unwrap();
    let app = app(&layer);
    // The start-up fetch, which does not start the unknown-kid cooldown.
    layer.warm_up().await;
    assert_eq!(layer.key_fetches(), 1);
    assert_eq!(layer.cached_keys(), 1);

    let old_tokens = vec![
        idp.app_token().await,
        idp.user_token(true).await.access_token,
    ];
    let new_kid = idp.rotate_keys(keep_old).await;
    let new_token = idp.user_token(true).await.access_token;
    assert_eq!(kid(&new_token), new_kid);
    idp.stop();
    assert!(!idp.is_running());
    drop(idp);

    for token in &old_tokens {
        call(&app, MFA_ROUTE, token).await.seen();
    }
    assert_eq!(layer.key_fetches(), 1);
    Down {
        clock,
        layer,
        app,
        old_tokens,
        new_token,
    }
}

impl Down {
    async fn old_tokens_pass(&self) {
        for token in &self.old_tokens {
            let seen = call(&self.app, MFA_ROUTE, token).await.seen();
            assert_seen_matches(&seen, token);
        }
    }
}

#[tokio::test]
async fn provider_down_unknown_kid_is_503_with_retry_after() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let down = provider_down(idp, false, |b| b).await;

    // The first request with the new kid triggers a fetch, which fails.
    let first = call(&down.app, MFA_ROUTE, &down.new_token).await;
    assert_eq!(first.assert_unavailable(), 30);
    assert_eq!(down.layer.key_fetches(), 2);
    down.old_tokens_pass().await;

    // Within the cooldown: no fetch, and Retry-After counts down.
    down.clock.advance(Duration::from_secs(10));
    let second = call(&down.app, AUTH_ROUTE, &down.new_token).await;
    assert_eq!(second.assert_unavailable(), 20);
    assert_eq!(down.layer.key_fetches(), 2);

    // After the cooldown: one more (failing) fetch, 503 again; cached keys still serve.
    down.clock.advance(Duration::from_secs(21));
    let third = call(&down.app, MFA_ROUTE, &down.new_token).await;
    assert_eq!(third.assert_unavailable(), 30);
    assert_eq!(down.layer.key_fetches(), 3);
    down.old_tokens_pass().await;
    assert_eq!(down.layer.cached_keys(), 1);
    assert_eq!(down.layer.key_fetches(), 3);
}

#[tokio::test]
async fn provider_down_unknown_kid_is_401_when_configured() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let down = provider_down(idp, true, |b| {
        b.keys_unavailable_status(tower_mfa::KeysUnavailableStatus::Unauthorized)
    })
    .await;

    call(&down.app, MFA_ROUTE, &down.new_token)
        .await
        .assert_invalid_token();
    assert_eq!(down.layer.key_fetches(), 2);
    down.old_tokens_pass().await;

    down.clock.advance(Duration::from_secs(31));
    call(&down.app, MFA_ROUTE, &down.new_token)
        .await
        .assert_invalid_token();
    assert_eq!(down.layer.key_fetches(), 3);
    down.old_tokens_pass().await;
}

#[tokio::test]
async fn provider_tokens_pass_strict_rfc9068() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let layer = RequireMfaLayer::builder()
        .issuer(idp.issuer())
        .discovery_url(format!("{}/.well-known/openid-configuration", idp.issuer()))
        .allow_http_loopback(true)
        .audience(API_AUDIENCE)
        .strict_rfc9068(true)
        .rule(Rule::mfa("/v1/customers/**"))
        .rule(Rule::authenticated("/v1/me"))
        .build()
        .unwrap();
    let app = app(&layer);

    let app_token = idp.app_token().await;
    let mfa = idp.user_token(true).await.access_token;
    let pwd = idp.user_token(false).await.access_token;
    for token in [&app_token, &mfa, &pwd] {
        assert_eq!(decode_jwt(token).0["typ"], "at+jwt");
    }

    assert_seen_matches(&call(&app, MFA_ROUTE, &app_token).await.seen(), &app_token);
    assert_seen_matches(&call(&app, MFA_ROUTE, &mfa).await.seen(), &mfa);
    call(&app, MFA_ROUTE, &pwd).await.assert_mfa_required();
    call(&app, AUTH_ROUTE, &pwd).await.seen();
    assert_eq!(layer.key_fetches(), 1);
}
