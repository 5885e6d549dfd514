//! The identity provider recipes of `docs/`: each recipe's TOML parses and
//! builds, and each token it shows (a ```json block, shaped as that provider
//! shapes its access tokens) is signed with the test's own key and sent
//! through the layer the recipe configures, with the outcome the block's
//! tag states: `mfa-passes`, `mfa-refused` (401 MFA required) or
//! `invalid-token`.
#![cfg(feature = "config-file")]

use serde_json::Value;
use tower_mfa::Builder;

use crate::harness::{self, Harness};
use crate::mint;

/// What a ```json block of a recipe expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Passes,
    MfaRefused,
    InvalidToken,
}

/// A recipe's blocks in order: a TOML configuration, then the tokens for it.
struct Case {
    toml: String,
    tokens: Vec<(Expect, Value)>,
}

fn recipe(file: &str) -> Vec<Case> {
    let path = format!("{}/docs/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut cases: Vec<Case> = Vec::new();
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let line_end = after.find('\n').expect("a fence line");
        let info = after[..line_end].trim();
        let body = &after[line_end + 1..];
        let end = body.find("```").expect("a closed block");
        let text = &body[..end];
        rest = &body[end + 3..];
        let expect = match info {
            "toml" => {
                cases.push(Case {
                    toml: text.to_owned(),
                    tokens: Vec::new(),
                });
                continue;
            }
            "json mfa-passes" => Expect::Passes,
            "json mfa-refused" => Expect::MfaRefused,
            "json invalid-token" => Expect::InvalidToken,
            _ => continue,
        };
        let token: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
        cases
            .last_mut()
            .unwrap_or_else(|| panic!("{file}: a token before any configuration"))
            .tokens
            .push((expect, token));
    }
    cases
}

/// Runs every case of a recipe; returns how many tokens of each outcome it
/// checked.
async fn exercise(file: &str) -> [usize; 3] {
    let mut seen = [0; 3];
    let cases = recipe(file);
    assert!(!cases.is_empty(), "{file}: no TOML configuration");
    for case in cases {
        if case.toml.contains("[[issuers]]") {
            // Several issuers, each with its own key source: the file builds
            // as it stands (tests/it/issuers.rs sends tokens to such layers).
            assert!(
                case.tokens.is_empty(),
                "{file}: tokens after a multi-issuer configuration"
            );
            Builder::from_toml_str(&case.toml)
                .and_then(Builder::build)
                .unwrap_or_else(|e| panic!("{file}: {e}\n{}", case.toml));
            continue;
        }
        let clock = harness::clock();
        let builder = Builder::from_toml_str(&case.toml)
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", case.toml))
            .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
            .unwrap()
            .clock(clock.clone());
        let h = Harness::new(builder);
        for (expect, payload) in case.tokens {
            let mut claims = harness::at(&clock, payload.clone());
            if claims.get("auth_time").is_some() {
                claims["auth_time"] = (harness::secs(&clock) - 60).into();
            }
            if payload.get("nbf").is_none() {
                claims.as_object_mut().unwrap().remove("nbf");
            }
            let token = mint::rsa_key().token(&claims);
            let reply = h.get("/v1/customers", &token).await;
            let context = format!("{file}: {expect:?}\n{payload:#}");
            match expect {
                Expect::Passes => {
                    assert!(reply.reached(), "{context}\n{:?}", reply.challenge());
                    seen[0] += 1;
                }
                Expect::MfaRefused => {
                    assert!(!reply.reached(), "{context}");
                    reply.assert_mfa_required();
                    seen[1] += 1;
                }
                Expect::InvalidToken => {
                    assert!(!reply.reached(), "{context}");
                    reply.assert_invalid_token();
                    seen[2] += 1;
                }
            }
        }
    }
    seen
}

#[tokio::test]
async fn okta_recipe() {
    // amr with mfa, acr 2fa, then a password-only and a service-app token.
    assert_eq!(exercise("providers/okta.md").await, [2, 2, 0]);
}

#[tokio::test]
async fn auth0_recipe() {
    // amr from the Action; no amr; a machine-to-machine token.
    assert_eq!(exercise("providers/auth0.md").await, [1, 2, 0]);
}

#[tokio::test]
async fn keycloak_recipe() {
    // Level of authentication (gold / silver), then the AMR mapper.
    assert_eq!(exercise("providers/keycloak.md").await, [2, 2, 0]);
}

#[tokio::test]
async fn entra_recipe() {
    // v1 user with mfa, password only, app-only, a tenant not allowed.
    assert_eq!(exercise("ENTRA.md").await, [2, 1, 1]);
}

/// Okta's array `scp` is read as scopes (a rule requiring one passes), and
/// its number `ver` is not mistaken for Entra's version.
#[tokio::test]
async fn okta_scopes_are_an_array() {
    let clock = harness::clock();
    let h = Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .clock(clock.clone())
            .rule(tower_mfa::Rule::authenticated("/v1/**").require_scope("customers.read")),
    );
    let mut claims = harness::user_at(&clock, &["pwd"]);
    claims["scp"] = serde_json::json!(["openid", "customers.read"]);
    claims["ver"] = 1.into();
    h.get("/v1/customers", &mint::rsa_key().token(&claims))
        .await
        .assert_passed();
    claims["scp"] = serde_json::json!(["openid", "customers.write"]);
    let reply = h
        .get("/v1/customers", &mint::rsa_key().token(&claims))
        .await;
    assert_eq!(reply.status, http::StatusCode::FORBIDDEN);
    // An array holding a non-string is a wrong type: the token is invalid.
    claims["scp"] = serde_json::json!(["customers.read", 7]);
    h.get("/v1/customers", &mint::rsa_key().token(&claims))
        .await
        .assert_invalid_token();
}
