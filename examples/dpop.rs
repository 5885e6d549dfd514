//! DPoP end to end, in one process: an issuer key, a client key, an access
//! token bound to the client key (`cnf.jkt`), and the layer in front of a
//! service on a route that requires DPoP.
//!
//! ```text
//! cargo run --example dpop
//! ```
//!
//! It prints each request and its answer, and exits non-zero if an answer is
//! not the expected one.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use tower_mfa::{DpopConfig, RequireMfaLayer, Rule, Sender};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "api://payments";
const ORIGIN: &str = "https://api.example.com";
const ROUTE: &str = "/v1/payments/42";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    // The issuer: an Ed25519 key published as a static JWKS.
    let issuer = Ed25519KeyPair::generate()?;
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "issuer-1", "use": "sig",
        "x": b64(issuer.public_key().as_ref()),
    }]});

    // The client: a P-256 key; its public JWK goes into every proof.
    let client = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)?;
    let point = client.public_key().as_ref();
    let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
    // RFC 7638 thumbprint: the required members, sorted, no whitespace.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let jkt = b64(digest(&SHA256, canonical.as_bytes()).as_ref());

    // The access token the issuer minted for that client, bound to its key.
    let token = jws(
        &json!({"alg": "EdDSA", "kid": "issuer-1", "typ": "at+jwt"}),
        &json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1",
            "iat": now, "exp": now + 600, "amr": ["pwd", "mfa"],
            "cnf": {"jkt": jkt},
        }),
        |m| issuer.sign(m).as_ref().to_vec(),
    );
    let proof = |method: &str, jti: &str| {
        jws(
            &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}),
            &json!({
                "jti": jti, "htm": method, "htu": format!("{ORIGIN}{ROUTE}"), "iat": now,
                "ath": b64(digest(&SHA256, token.as_bytes()).as_ref()),
            }),
            |m| {
                client
                    .sign(&SystemRandom::new(), m)
                    .map(|s| s.as_ref().to_vec())
                    .unwrap_or_default()
            },
        )
    };

    let layer = RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .static_jwks(jwks.to_string().as_bytes())?
        .dpop(DpopConfig::new().public_origin(ORIGIN))
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::DpopRequired))
        .build()?;
    let service = layer.layer(tower::service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new("paid".to_owned()))
    }));

    let first = proof("POST", "proof-1");
    let cases = [
        (
            "DPoP token with its proof",
            format!("DPoP {token}"),
            Some(first.clone()),
            StatusCode::OK,
        ),
        (
            "the same proof again (replay)",
            format!("DPoP {token}"),
            Some(first),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a proof for GET on a POST",
            format!("DPoP {token}"),
            Some(proof("GET", "proof-2")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "the bound token as Bearer (downgrade)",
            format!("Bearer {token}"),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a fresh proof",
            format!("DPoP {token}"),
            Some(proof("POST", "proof-3")),
            StatusCode::OK,
        ),
    ];
    let mut wrong = 0;
    for (what, authorization, proof, expected) in cases {
        let mut req = Request::post(ROUTE).header("authorization", authorization);
        if let Some(proof) = proof {
            req = req.header("dpop", proof);
        }
        let response = service.clone().oneshot(req.body(String::new())?).await?;
        let challenges: Vec<_> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        println!("{what}: {} {challenges:?}", response.status());
        if response.status() != expected {
            println!("  expected {expected}");
            wrong += 1;
        }
    }
    if wrong > 0 {
        return Err(format!("{wrong} unexpected answers").into());
    }
    Ok(())
}
