//! Certificate-bound tokens (RFC 8705) through the layer, the certificate
//! given as the `ClientCertificate` extension a TLS stack would insert (the
//! real handshake is `tests/mtls.rs`): the matching certificate passes, none
//! or another is refused under every sender, also from the token cache;
//! `mtls_required` refuses unbound tokens (reported on report-only).

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;
use tower_mfa::{ClientCertificate, DpopConfig, Rule, Sender};

use crate::harness::{self, Harness};
use crate::mint;

const REQUIRED: &str = "/v1/payments";
const BEARER: &str = "/v1/customers";
const DPOP: &str = "/v1/orders";
const REPORTED: &str = "/v1/reports";

fn harness() -> Harness {
    Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .clock(harness::clock())
            .dpop(DpopConfig::new().public_origin("https://api.example.com"))
            .rule(Rule::mfa(REQUIRED).sender(Sender::MtlsRequired))
            .rule(Rule::mfa(DPOP).sender(Sender::DpopAllowed))
            .rule(
                Rule::mfa(REPORTED)
                    .sender(Sender::MtlsRequired)
                    .report_only(),
            )
            .rule(Rule::mfa(BEARER)),
    )
}

fn cert(name: &str) -> ClientCertificate {
    ClientCertificate::from_der(format!("a DER certificate named {name}").into_bytes())
}

fn token(bound_to: Option<&ClientCertificate>) -> String {
    let mut claims = harness::user_at(&harness::clock(), &["pwd", "mfa"]);
    if let Some(cert) = bound_to {
        claims["cnf"] = json!({ "x5t#S256": cert.thumbprint() });
    }
    mint::rsa_key().token(&claims)
}

fn request(path: &str, token: &str, cert: Option<&ClientCertificate>) -> Request<Body> {
    let mut req = harness::get(path, Some(token));
    if let Some(cert) = cert {
        req.extensions_mut().insert(cert.clone());
    }
    req
}

#[tokio::test]
async fn a_bound_token_passes_only_with_its_certificate_under_every_sender() {
    let h = harness();
    let mine = cert("mine");
    let other = cert("other");
    let bound = token(Some(&mine));
    for path in [REQUIRED, BEARER, DPOP] {
        h.send(request(path, &bound, Some(&mine)))
            .await
            .assert_passed();
        // Again: now from the token cache, still checked.
        h.send(request(path, &bound, Some(&mine)))
            .await
            .assert_passed();
        h.send(request(path, &bound, None))
            .await
            .assert_invalid_token();
        h.send(request(path, &bound, Some(&other)))
            .await
            .assert_invalid_token();
    }
    // Report-only never lets a wrong certificate through.
    h.send(request(REPORTED, &bound, Some(&other)))
        .await
        .assert_invalid_token();
}

#[tokio::test]
async fn mtls_required_refuses_unbound_tokens_other_rules_accept_them() {
    let h = harness();
    let plain = token(None);
    let mine = cert("mine");
    h.send(request(REQUIRED, &plain, Some(&mine)))
        .await
        .assert_invalid_token();
    h.send(request(REQUIRED, &plain, None))
        .await
        .assert_invalid_token();
    h.send(request(BEARER, &plain, None)).await.assert_passed();
    h.send(request(BEARER, &plain, Some(&mine)))
        .await
        .assert_passed();
    // Report-only: through, reported as `mtls_required`.
    let reply = h.send(request(REPORTED, &plain, None)).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-reported"), Some("mtls_required"));
}

#[tokio::test]
async fn a_malformed_binding_is_an_invalid_token() {
    let h = harness();
    let mine = cert("mine");
    for cnf in [
        json!({ "x5t#S256": 42 }),
        json!({ "x5t#S256": "" }),
        json!("not an object"),
    ] {
        let mut claims = harness::user_at(&harness::clock(), &["pwd", "mfa"]);
        claims["cnf"] = cnf.clone();
        let t = mint::rsa_key().token(&claims);
        for path in [REQUIRED, BEARER] {
            let reply = h.send(request(path, &t, Some(&mine))).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{cnf} {path}");
            reply.assert_invalid_token();
        }
    }
    // A thumbprint that differs only in case is another thumbprint.
    let mut claims = harness::user_at(&harness::clock(), &["pwd", "mfa"]);
    claims["cnf"] = json!({ "x5t#S256": mine.thumbprint().to_ascii_uppercase() });
    let t = mint::rsa_key().token(&claims);
    h.send(request(BEARER, &t, Some(&mine)))
        .await
        .assert_invalid_token();
}

#[tokio::test]
async fn the_dpop_scheme_is_no_token_on_an_mtls_rule() {
    let h = harness();
    let mine = cert("mine");
    let bound = token(Some(&mine));
    let mut req = Request::get(REQUIRED)
        .header("authorization", format!("DPoP {bound}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(mine);
    h.send(req)
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
}

#[test]
fn the_sender_names_round_trip() {
    assert_eq!(Sender::MtlsRequired.as_str(), "mtls_required");
    assert_eq!(
        Sender::from_name("mtls_required"),
        Some(Sender::MtlsRequired)
    );
    assert!(Sender::MtlsRequired.requires_mtls());
    assert!(!Sender::MtlsRequired.accepts_dpop());
    assert!(!Sender::DpopRequired.requires_mtls());
}
