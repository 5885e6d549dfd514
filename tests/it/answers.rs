//! The seed's cases (Partner Center routes and `amr` values) and every answer
//! of the answers table (README, docs/SECURITY.md): exact status, exact `WWW-Authenticate`, and whether the
//! inner service was called. Also the `Unauthorized - MFA required` reason
//! phrase as it goes over a real HTTP/1.1 connection.
use crate::mint;

use crate::harness;

use std::time::Duration;

use axum::body::Body;
use harness::{
    Harness, INVALID_REQUEST, INVALID_TOKEN, MFA_PARTNER_CENTER, base, clock, static_builder,
    user_at,
};
use http::{Request, StatusCode};
use mint::{Answer, JwksServer, TestKey};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower_mfa::{AppOnly, ChallengeStyle, Rule};

/// The Partner Center routes of the demo (docs/CONFIGURATION.md).
fn partner_center_rules() -> Vec<Rule> {
    vec![
        Rule::public("/healthz"),
        Rule::mfa("/v1/**"),
        Rule::mfa("/dashboard/customers/**"),
        Rule::mfa("/dashboard/support/customer-requests/**"),
        Rule::authenticated("/dashboard"),
        Rule::authenticated("/dashboard/support/partner-requests"),
    ]
}

fn partner_center() -> (Harness, tower_mfa::clock::ManualClock) {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rules(partner_center_rules()),
    );
    (h, clock)
}

const MFA_ROUTES: &[&str] = &[
    "/v1/customers",
    "/v1/customers/6b2b5a2f/orders",
    "/dashboard/customers",
    "/dashboard/customers/6b2b5a2f/subscriptions",
    "/dashboard/support/customer-requests",
    "/dashboard/support/customer-requests/42",
];

const SIGN_IN_ROUTES: &[&str] = &["/dashboard", "/dashboard/support/partner-requests"];

// ------------------------------------------------------ Partner Center

#[tokio::test]
async fn user_with_mfa_passes_everywhere() {
    let (h, clock) = partner_center();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    for path in MFA_ROUTES {
        let reply = h.get(path, &token).await;
        reply.assert_passed();
        assert_eq!(reply.header("x-caller"), Some("user"));
        assert_eq!(reply.header("x-mfa"), Some("amr"), "{path}");
        assert_eq!(&reply.body[..], b"f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11");
    }
    for path in SIGN_IN_ROUTES {
        h.get(path, &token).await.assert_passed();
    }
    assert_eq!(h.inner.calls(), MFA_ROUTES.len() + SIGN_IN_ROUTES.len());
}

#[tokio::test]
async fn password_only_user_is_refused_on_mfa_routes_only() {
    let (h, clock) = partner_center();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    for path in MFA_ROUTES {
        let reply = h.get(path, &token).await;
        reply.assert_mfa_required();
    }
    assert_eq!(h.inner.calls(), 0);
    // The overview and partner requests only need a sign-in.
    for path in SIGN_IN_ROUTES {
        let reply = h.get(path, &token).await;
        reply.assert_passed();
        assert_eq!(reply.header("x-mfa"), Some("none"));
    }
    assert_eq!(h.inner.calls(), SIGN_IN_ROUTES.len());
    // Public routes need nothing at all.
    let reply = h.send(harness::get("/healthz", None)).await;
    reply.assert_passed();
}

#[tokio::test]
async fn app_only_token_passes_mfa_routes() {
    let (h, clock) = partner_center();
    let token = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    for path in MFA_ROUTES {
        let reply = h.get(path, &token).await;
        reply.assert_passed();
        assert_eq!(reply.header("x-caller"), Some("app"));
        assert_eq!(reply.header("x-mfa"), Some("none"));
    }
    // `idtyp: app` alone is an app...
    let mut app = harness::at(&clock, mint::app_claims());
    app["idtyp"] = json!("app");
    let reply = h.get("/v1/customers", &mint::rsa_key().token(&app)).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-caller"), Some("app"));
    // ...but a user-authentication claim makes the token a user's, whatever
    // `idtyp` says.
    for (claim, value) in [
        ("amr", json!(["pwd"])),
        ("auth_time", json!(harness::secs(&clock) - 60)),
        ("acr", json!("1")),
    ] {
        let mut user = harness::at(&clock, mint::app_claims());
        user["idtyp"] = json!("app");
        user[claim] = value;
        h.get("/v1/customers", &mint::rsa_key().token(&user))
            .await
            .assert_mfa_required();
    }
}

#[tokio::test]
async fn federated_and_windows_hello_values_count_as_mfa() {
    let (h, clock) = partner_center();
    for amr in [
        &["http://schemas.microsoft.com/claims/multipleauthn"][..],
        &["pwd", "http://schemas.microsoft.com/claims/multipleauthn"],
        &["ngcmfa"],
        &["rsa", "ngcmfa"],
    ] {
        let token = mint::rsa_key().token(&user_at(&clock, amr));
        let reply = h.get("/v1/customers", &token).await;
        reply.assert_passed();
        assert_eq!(reply.header("x-mfa"), Some("equivalent_amr"), "{amr:?}");
    }
}

#[tokio::test]
async fn wiaormfa_and_near_misses_never_count() {
    let (h, clock) = partner_center();
    for amr in [
        &["wiaormfa"][..],
        &["pwd", "wiaormfa"],
        &["MFA"],
        &["mfa "],
        &["multipleauthn"],
        &["pwd", "otp"],
        &[],
    ] {
        let token = mint::rsa_key().token(&user_at(&clock, amr));
        h.get("/dashboard/customers", &token)
            .await
            .assert_mfa_required();
    }
    assert_eq!(h.inner.calls(), 0);
}

#[tokio::test]
async fn guest_markers_do_not_bypass_the_check() {
    let (h, clock) = partner_center();
    let mut guest = user_at(&clock, &["pwd"]);
    guest["idp"] = json!("live.com");
    guest["acct"] = json!(1);
    guest["unique_name"] = json!("live.com#guest@example.com");
    let reply = h.get("/v1/customers", &mint::rsa_key().token(&guest)).await;
    reply.assert_mfa_required();

    // A guest token shaped like an app token in every way but its user claim.
    let mut guest = user_at(&clock, &["pwd"]);
    guest["idp"] = json!("https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/");
    guest["acct"] = json!(1);
    guest.as_object_mut().unwrap().remove("scp");
    guest["oid"] = guest["sub"].clone();
    let reply = h.get("/v1/customers", &mint::rsa_key().token(&guest)).await;
    reply.assert_mfa_required();
    assert_eq!(h.inner.calls(), 0);
}

// --------------------------------------------------------------- no token

#[tokio::test]
async fn no_token_is_a_bare_bearer_challenge() {
    let (h, _) = partner_center();
    let reply = h.send(harness::get("/v1/customers", None)).await;
    reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.json()["status"], 401);
    // Also on routes that only need a sign-in, and on unmatched routes.
    for path in ["/dashboard", "/elsewhere"] {
        let reply = h.send(harness::get(path, None)).await;
        reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    }
}

#[tokio::test]
async fn no_token_carries_the_configured_realm() {
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .realm("x")
            .rule(Rule::mfa("/v1/**")),
    );
    let reply = h.send(harness::get("/v1/customers", None)).await;
    reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer realm=\"x\""));
}

#[tokio::test]
async fn another_scheme_is_no_token() {
    let (h, _) = partner_center();
    for value in [
        "Basic dXNlcjpwYXNz",
        "DPoP eyJhbGciOiJFUzI1NiJ9.e30.sig",
        "Negotiate abc",
        "Bearerabc",
    ] {
        let req = Request::get("/v1/customers")
            .header("authorization", value)
            .body(Body::empty())
            .unwrap();
        let reply = h.send(req).await;
        reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    }
}

#[tokio::test]
async fn optional_routes_pass_without_a_token_but_refuse_a_bad_one() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::optional("/graphql")),
    );
    let reply = h.send(harness::get("/graphql", None)).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-caller"), None);
    h.get("/graphql", "not.a.token")
        .await
        .assert_invalid_token();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let reply = h.get("/graphql", &token).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-caller"), Some("user"));
}

// --------------------------------------------------------- invalid request

async fn send_with(h: &Harness, headers: &[(&str, &[u8])]) -> harness::Reply {
    let mut req = Request::get("/v1/customers");
    for (name, value) in headers {
        req = req.header(*name, http::HeaderValue::from_bytes(value).unwrap());
    }
    h.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn malformed_requests_are_400_invalid_request() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .token_cookie("session")
            .rule(Rule::mfa("/v1/**")),
    );
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let bearer = format!("Bearer {token}");
    type Headers<'a> = Vec<(&'a str, Vec<u8>)>;
    let cases: Vec<(&str, Headers)> = vec![
        (
            "two Authorization headers",
            vec![
                ("authorization", bearer.clone().into_bytes()),
                ("authorization", bearer.clone().into_bytes()),
            ],
        ),
        (
            "a Bearer and a Basic header",
            vec![
                ("authorization", bearer.clone().into_bytes()),
                ("authorization", b"Basic dXNlcjpwYXNz".to_vec()),
            ],
        ),
        (
            "header and cookie",
            vec![
                ("authorization", bearer.clone().into_bytes()),
                (
                    "cookie",
                    format!("theme=dark; session={token}").into_bytes(),
                ),
            ],
        ),
        (
            "the cookie twice",
            vec![(
                "cookie",
                format!("session={token}; session={token}").into_bytes(),
            )],
        ),
        (
            "a tab",
            vec![("authorization", format!("Bearer\t{token}").into_bytes())],
        ),
        ("empty", vec![("authorization", b"Bearer".to_vec())]),
        (
            "empty after a space",
            vec![("authorization", b"Bearer ".to_vec())],
        ),
        (
            "trailing space",
            vec![("authorization", format!("{bearer} ").into_bytes())],
        ),
        (
            "non-ASCII",
            vec![("authorization", "Bearer tökén".as_bytes().to_vec())],
        ),
        (
            "not b64token",
            vec![("authorization", b"Bearer a,b".to_vec())],
        ),
    ];
    for (what, headers) in cases {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
        let reply = send_with(&h, &headers).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(reply.challenge(), Some(INVALID_REQUEST), "{what}");
        assert!(!reply.reached(), "{what}");
        assert_eq!(reply.json()["status"], 400, "{what}");
    }
    assert_eq!(h.inner.calls(), 0);
    // The same token sent one way is fine: in the header, or in the cookie.
    send_with(&h, &[("authorization", bearer.as_bytes())])
        .await
        .assert_passed();
    send_with(
        &h,
        &[("cookie", format!("a=b; session={token}").as_bytes())],
    )
    .await
    .assert_passed();
}

// ------------------------------------------------------------ invalid token

#[tokio::test]
async fn invalid_tokens_are_401_invalid_token() {
    let (h, clock) = partner_center();
    let key = mint::rsa_key();
    let good = key.token(&user_at(&clock, &["pwd", "mfa"]));
    let (signing_input, _) = good.rsplit_once('.').unwrap();
    let other = mint::rsa_key2().sign_bytes(signing_input.as_bytes());
    let forged = format!("{signing_input}.{}", mint::b64(&other));
    let mut wrong_aud = user_at(&clock, &["pwd", "mfa"]);
    wrong_aud["aud"] = json!("https://graph.microsoft.com");
    let mut expired = user_at(&clock, &["pwd", "mfa"]);
    expired["exp"] = json!(harness::secs(&clock) - 3600);
    for (what, token) in [
        ("one segment", "abc".to_owned()),
        ("two segments", "abc.def".to_owned()),
        ("four segments", format!("{good}.x")),
        ("signature not base64url", format!("{signing_input}.ab+/")),
        ("forged signature", forged),
        ("wrong audience", key.token(&wrong_aud)),
        ("expired", key.token(&expired)),
        ("too large", format!("{good}{}", "A".repeat(17 * 1024))),
    ] {
        let reply = h.get("/v1/customers", &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(reply.challenge(), Some(INVALID_TOKEN), "{what}");
        assert!(!reply.reached(), "{what}");
        assert_eq!(reply.reason, None, "{what}");
        let body = String::from_utf8(reply.body.to_vec()).unwrap();
        assert!(!body.contains(&token[..token.len().min(40)]), "{what}");
    }
    // Also on routes that need no MFA.
    h.get("/dashboard", "abc.def.ghi")
        .await
        .assert_invalid_token();
    assert_eq!(h.inner.calls(), 0);
}

#[tokio::test]
async fn unknown_kid_is_401_invalid_token() {
    let (h, clock) = partner_center();
    let stranger = TestKey::es256("nobody-knows-me");
    let token = stranger.token(&user_at(&clock, &["pwd", "mfa"]));
    h.get("/v1/customers", &token).await.assert_invalid_token();

    // Over a JWKS URL too: the refresh finds nothing, the answer is the same.
    let server = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**")),
    );
    h.get("/v1/customers", &token).await.assert_invalid_token();
    assert_eq!(h.inner.calls(), 0);
}

// ------------------------------------------------------------- missing MFA

#[tokio::test]
async fn missing_mfa_partner_center_style() {
    let (h, clock) = partner_center();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let reply = h.get("/v1/customers", &token).await;
    reply.assert_mfa_required();
    assert_eq!(reply.challenge(), Some("Bearer error=\"invalid_token\""));
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        reply.json(),
        json!({
            "type": "about:blank",
            "title": "Unauthorized - MFA required",
            "status": 401,
            "detail": "Multi-factor authentication is required."
        })
    );
}

#[tokio::test]
async fn missing_mfa_rfc9470_style() {
    let clock = clock();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let base_desc = "Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\"";
    for (acr_values, max_age, expected) in [
        (
            Some("urn:example:mfa"),
            None,
            format!("{base_desc}, acr_values=\"urn:example:mfa\""),
        ),
        (None, Some(300), format!("{base_desc}, max_age=\"300\"")),
        (
            Some("c1 c2"),
            Some(0),
            format!("{base_desc}, acr_values=\"c1 c2\", max_age=\"0\""),
        ),
    ] {
        let h = Harness::new(
            static_builder(&[mint::rsa_key()])
                .clock(clock.clone())
                .challenge_style(ChallengeStyle::Rfc9470 {
                    acr_values: acr_values.map(str::to_owned),
                    max_age,
                })
                .rule(Rule::mfa("/v1/**")),
        );
        let reply = h.get("/v1/customers", &token).await;
        reply.assert_refused(StatusCode::UNAUTHORIZED, Some(&expected));
        // No Partner Center reason phrase in this style.
        assert_eq!(reply.reason, None);
        assert_eq!(reply.json()["status"], 401);
    }
}

#[tokio::test]
async fn rfc9470_style_needs_acr_values_or_max_age() {
    // RFC 9470 challenge: at least one of `acr_values` and `max_age`.
    let err = static_builder(&[mint::rsa_key()])
        .challenge_style(ChallengeStyle::Rfc9470 {
            acr_values: None,
            max_age: None,
        })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("acr_values"), "{err}");
    // Valid when the MFA policy sets max_age: that is what it asks for.
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .mfa_policy(tower_mfa::MfaPolicy::new().max_age(Duration::from_secs(300)))
            .challenge_style(ChallengeStyle::Rfc9470 {
                acr_values: None,
                max_age: None,
            })
            .rule(Rule::mfa("/v1/**")),
    );
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    h.get("/v1/customers", &token).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some("Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", max_age=\"300\""),
    );
}

#[tokio::test]
async fn a_stale_sign_in_is_always_asked_for_max_age() {
    let clock = clock();
    let now = harness::secs(&clock);
    let desc = "Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\"";
    let mut stale = user_at(&clock, &["pwd", "mfa"]);
    stale["auth_time"] = json!(now - 3600);
    let stale = mint::rsa_key().token(&stale);
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    for (style_max_age, stale_expected, pwd_expected) in [
        (
            None,
            format!("{desc}, acr_values=\"c1\", max_age=\"300\""),
            format!("{desc}, acr_values=\"c1\""),
        ),
        (
            Some(600),
            format!("{desc}, acr_values=\"c1\", max_age=\"300\""),
            format!("{desc}, acr_values=\"c1\", max_age=\"600\""),
        ),
        (
            Some(60),
            format!("{desc}, acr_values=\"c1\", max_age=\"60\""),
            format!("{desc}, acr_values=\"c1\", max_age=\"60\""),
        ),
    ] {
        let h = Harness::new(
            static_builder(&[mint::rsa_key()])
                .clock(clock.clone())
                .mfa_policy(tower_mfa::MfaPolicy::new().max_age(Duration::from_secs(300)))
                .challenge_style(ChallengeStyle::Rfc9470 {
                    acr_values: Some("c1".into()),
                    max_age: style_max_age,
                })
                .rule(Rule::mfa("/v1/**")),
        );
        h.get("/v1/customers", &stale)
            .await
            .assert_refused(StatusCode::UNAUTHORIZED, Some(&stale_expected));
        // A token without MFA proof keeps the configured parameters.
        h.get("/v1/customers", &pwd)
            .await
            .assert_refused(StatusCode::UNAUTHORIZED, Some(&pwd_expected));
    }
}

#[tokio::test]
async fn an_auth_time_in_the_future_is_an_invalid_token() {
    let clock = clock();
    let now = harness::secs(&clock);
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .mfa_policy(tower_mfa::MfaPolicy::new().max_age(Duration::from_secs(300)))
            .rule(Rule::mfa("/v1/**")),
    );
    let mut future = user_at(&clock, &["pwd", "mfa"]);
    future["auth_time"] = json!(now + 10 * 365 * 86_400);
    h.get("/v1/customers", &mint::rsa_key().token(&future))
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some(INVALID_TOKEN));
    // Within the leeway (60 s by default) it is a fresh sign-in.
    let mut soon = user_at(&clock, &["pwd", "mfa"]);
    soon["auth_time"] = json!(now + 30);
    h.get("/v1/customers", &mint::rsa_key().token(&soon))
        .await
        .assert_passed();
    // Also on routes without max_age: the token itself is invalid.
    let mut future = user_at(&clock, &["pwd"]);
    future["auth_time"] = json!(now + 3600);
    h.get("/public-or-not", &mint::rsa_key().token(&future))
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some(INVALID_TOKEN));
}

#[tokio::test]
async fn browsers_are_redirected_to_step_up_only_when_they_ask_for_html() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .step_up_url("https://login.example.test/step-up")
            .rules(partner_center_rules()),
    );
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let with_accept = |accept: Option<&str>| {
        let mut req = Request::get("/dashboard/customers/42?tab=orders")
            .header("authorization", format!("Bearer {token}"));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        req.body(Body::empty()).unwrap()
    };
    for accept in [
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/html",
        "TEXT/HTML; charset=utf-8",
    ] {
        let reply = h.send(with_accept(Some(accept))).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{accept}");
        assert_eq!(
            reply.header("location"),
            Some(
                "https://login.example.test/step-up?return_to=%2Fdashboard%2Fcustomers%2F42%3Ftab%3Dorders"
            )
        );
        assert_eq!(reply.challenge(), None);
        assert!(!reply.reached());
    }
    // Not a browser: `*/*`, JSON, an explicit refusal of HTML, no Accept.
    for accept in [
        Some("*/*"),
        Some("application/json"),
        Some("text/html;q=0"),
        None,
    ] {
        let reply = h.send(with_accept(accept)).await;
        reply.assert_mfa_required();
        assert_eq!(reply.header("location"), None, "{accept:?}");
    }
    // A browser with MFA goes straight in.
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let req = Request::get("/dashboard/customers/42")
        .header("authorization", format!("Bearer {mfa}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_passed();
    let everywhere = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .step_up_url("https://login.example.test/step-up")
            .rule(Rule::mfa("/**")),
    );
    // The return path never names another host (`//host` is
    // scheme-relative; browsers read `\\` as `/`): collapsed to one `/`.
    for (path, expected) in [
        ("//evil.example", "%2Fevil.example"),
        ("//evil.example/x", "%2Fevil.example%2Fx"),
        ("///evil.example", "%2Fevil.example"),
        ("/\\evil.example", "%2Fevil.example"),
        ("/\\\\evil.example", "%2Fevil.example"),
        ("/\\/evil.example", "%2Fevil.example"),
        // Encoded forms and dot segments stay as they are.
        ("/%2F%2Fevil.example", "%2F%252F%252Fevil.example"),
        ("/./evil.example", "%2F.%2Fevil.example"),
    ] {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap();
        let reply = everywhere.send(req).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            reply.header("location"),
            Some(format!("https://login.example.test/step-up?return_to={expected}").as_str()),
            "{path}"
        );
    }
    // Only missing MFA is redirected; no token is still a 401.
    let req = Request::get("/dashboard/customers/42")
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    h.send(req)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    assert_eq!(h.inner.calls(), 1);
}

#[tokio::test]
async fn html_without_a_step_up_url_is_a_401() {
    let (h, clock) = partner_center();
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let req = Request::get("/dashboard/customers")
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_mfa_required();
}

// -------------------------------------------------------- keys unavailable

#[tokio::test]
async fn unknown_kid_while_the_jwks_endpoint_fails_is_503_with_retry_after() {
    let clock = clock();
    let server = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let builder = || {
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/**"))
    };
    let h = Harness::new(builder());
    h.layer.warm_up().await;
    server.set(Answer::Raw(500, b"oops".to_vec()));
    let rotated = mint::rsa_key2().token(&user_at(&clock, &["pwd", "mfa"]));
    let reply = h.get("/v1/customers", &rotated).await;
    reply.assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(reply.header("retry-after"), Some("30"));
    assert_eq!(reply.json()["status"], 503);
    // Within the cooldown: answered at once, with the time left.
    clock.advance(Duration::from_secs(10));
    let reply = h.get("/v1/customers", &rotated).await;
    reply.assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(reply.header("retry-after"), Some("20"));
    assert_eq!(server.jwks_hits(), 2);
    // Known keys keep working meanwhile.
    let known = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    h.get("/v1/customers", &known).await.assert_passed();

    // Configured to 401: the invalid-token answer, no Retry-After.
    let server_down = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    server_down.set(Answer::Raw(503, Vec::new()));
    let h = Harness::new(
        base()
            .jwks_url(server_down.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .keys_unavailable_status(tower_mfa::KeysUnavailableStatus::Unauthorized)
            .rule(Rule::mfa("/v1/**")),
    );
    let reply = h.get("/v1/customers", &known).await;
    reply.assert_invalid_token();
    assert_eq!(reply.header("retry-after"), None);
}

#[tokio::test]
async fn cold_start_with_the_jwks_endpoint_down_is_503() {
    let clock = clock();
    let server = JwksServer::start(json!({"keys": []})).await;
    server.set(Answer::Raw(500, Vec::new()));
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone()),
    );
    let token = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let reply = h.get("/anything", &token).await;
    reply.assert_refused(StatusCode::SERVICE_UNAVAILABLE, None);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
}

// ---------------------------------------------------------- scope and role

#[tokio::test]
async fn missing_scope_or_role_is_403_insufficient_scope() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(Rule::mfa("/v1/invoices/**").require_scope("Invoices.Read"))
            .rule(Rule::mfa("/v1/admin/**").require_role("Admin"))
            .rule(
                Rule::authenticated("/v1/both")
                    .require_scope("a.read")
                    .require_role("Writer"),
            )
            .rule(
                Rule::authenticated("/v1/report")
                    .require_role("Writer")
                    .report_only(),
            )
            .rule(
                Rule::authenticated("/v1/report-scope")
                    .require_scope("a.read")
                    .report_only(),
            ),
    );
    let user = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let app = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    h.get("/v1/invoices/1", &user).await.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"Invoices.Read\""),
    );
    // A missing role names no scope: no scope would obtain it.
    let reply = h.get("/v1/admin/users", &app).await;
    reply.assert_refused(StatusCode::FORBIDDEN, Some("Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required role\""));
    assert_eq!(reply.json()["status"], 403);
    // The missing scope is named (roles never are)...
    h.get("/v1/both", &user).await.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"a.read\""),
    );
    // ...and with the scope, the missing role is answered as such.
    let mut read = user_at(&clock, &["pwd", "mfa"]);
    read["scp"] = json!("a.read");
    h.get("/v1/both", &mint::rsa_key().token(&read))
        .await
        .assert_refused(StatusCode::FORBIDDEN, Some("Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required role\""));
    assert_eq!(h.inner.calls(), 0);
    // Each is logged with its own reason (here through a report-only rule,
    // whose decision carries the reason code the log has).
    let reply = h.get("/v1/report", &user).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-reported"), Some("missing_role"));
    let reply = h.get("/v1/report-scope", &user).await;
    assert_eq!(reply.header("x-reported"), Some("missing_scope"));
    // With the scope / role, they pass.
    let mut scoped = user_at(&clock, &["pwd", "mfa"]);
    scoped["scp"] = json!("user_impersonation Invoices.Read");
    h.get("/v1/invoices/1", &mint::rsa_key().token(&scoped))
        .await
        .assert_passed();
    let mut admin = harness::at(&clock, mint::app_claims());
    admin["roles"] = json!(["Partner.Read", "Admin"]);
    h.get("/v1/admin/users", &mint::rsa_key().token(&admin))
        .await
        .assert_passed();
}

#[tokio::test]
async fn app_only_denied_is_403() {
    let clock = clock();
    let h = Harness::new(
        static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .app_only(AppOnly::Deny)
            .rule(Rule::mfa("/v1/**")),
    );
    let app = mint::rsa_key().token(&harness::at(&clock, mint::app_claims()));
    h.get("/v1/customers", &app).await.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", error_description=\"App-only tokens are not accepted here\""),
    );
}

// -------------------------------------------------------------------- gRPC

fn grpc(path: &str, token: Option<&str>, content_type: &str) -> Request<Body> {
    let mut req = Request::post(path)
        .header("content-type", content_type)
        .header("te", "trailers");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

#[track_caller]
fn assert_grpc(reply: &harness::Reply, code: &str, challenge: Option<&str>) {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("grpc-status"), Some(code), "{reply:?}");
    assert!(
        !reply.header("grpc-message").unwrap_or("").is_empty(),
        "{reply:?}"
    );
    assert_eq!(reply.header("content-type"), Some("application/grpc"));
    assert_eq!(reply.challenge(), challenge, "{reply:?}");
    assert!(reply.body.is_empty(), "trailers-only: no body");
    assert!(!reply.reached());
}

#[tokio::test]
async fn grpc_requests_get_trailers_only_grpc_answers() {
    let clock = clock();
    let server = JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let h = Harness::new(
        base()
            .jwks_url(server.jwks_url())
            .allow_http_loopback(true)
            .clock(clock.clone())
            .step_up_url("https://login.example.test/step-up")
            .rule(Rule::mfa("/partner.v1.Customers/*"))
            .rule(Rule::mfa("/partner.v1.Admin/*").require_role("Admin")),
    );
    let path = "/partner.v1.Customers/List";
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));

    assert_grpc(
        &h.send(grpc(path, None, "application/grpc")).await,
        "16",
        Some("Bearer"),
    );
    assert_grpc(
        &h.send(grpc(path, Some("a.b.c"), "application/grpc+proto"))
            .await,
        "16",
        Some(INVALID_TOKEN),
    );
    // Missing MFA: 16, never a redirect, even when the client lists text/html.
    let mut req = grpc(path, Some(&pwd), "application/grpc");
    req.headers_mut()
        .insert("accept", "text/html".parse().unwrap());
    let reply = h.send(req).await;
    assert_grpc(&reply, "16", Some(MFA_PARTNER_CENTER));
    assert_eq!(reply.reason, None);
    assert_grpc(
        &h.send(grpc(
            "/partner.v1.Admin/Delete",
            Some(&mfa),
            "application/grpc",
        ))
        .await,
        "7",
        Some(
            "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required role\"",
        ),
    );
    // Where HTTP says 503: 14.
    server.set(Answer::Raw(500, Vec::new()));
    let rotated = mint::rsa_key2().token(&user_at(&clock, &["pwd", "mfa"]));
    assert_grpc(
        &h.send(grpc(path, Some(&rotated), "application/grpc")).await,
        "14",
        None,
    );
    // A valid call passes.
    let reply = h.send(grpc(path, Some(&mfa), "application/grpc")).await;
    reply.assert_passed();
    assert_eq!(h.inner.calls(), 1);
    // `application/grpc-web` is not gRPC: an HTTP answer.
    let reply = h.send(grpc(path, None, "application/grpc-web")).await;
    reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    assert_eq!(reply.header("grpc-status"), None);
}

// ----------------------------------------------------- the reason phrase

/// Sends raw HTTP/1.1 bytes and returns the whole raw answer.
async fn raw_exchange(addr: std::net::SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    String::from_utf8(raw).unwrap()
}

#[tokio::test]
async fn reason_phrase_goes_over_the_wire_on_http1() {
    use axum::{Router, routing::get};
    let clock = clock();
    let layer = static_builder(&[mint::rsa_key()])
        .clock(clock.clone())
        .rules(partner_center_rules())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/v1/customers", get(|| async { "customers" }))
        .route("/dashboard", get(|| async { "overview" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let request = |path: &str, token: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
    };
    let pwd = mint::rsa_key().token(&user_at(&clock, &["pwd"]));
    let raw = raw_exchange(addr, request("/v1/customers", &pwd)).await;
    let status_line = raw.lines().next().unwrap();
    assert_eq!(status_line, "HTTP/1.1 401 Unauthorized - MFA required");
    let lower = raw.to_ascii_lowercase();
    assert!(
        lower.contains("\r\nwww-authenticate: bearer error=\"invalid_token\"\r\n"),
        "{raw}"
    );

    // Other refusals keep the standard phrase.
    let raw = raw_exchange(addr, request("/v1/customers", "a.b.c")).await;
    assert_eq!(raw.lines().next().unwrap(), "HTTP/1.1 401 Unauthorized");
    // And a passing request is a plain 200.
    let mfa = mint::rsa_key().token(&user_at(&clock, &["pwd", "mfa"]));
    let raw = raw_exchange(addr, request("/v1/customers", &mfa)).await;
    assert_eq!(raw.lines().next().unwrap(), "HTTP/1.1 200 OK");
    assert!(raw.ends_with("customers"), "{raw}");
    server.abort();
}
