//! Certificate-bound access tokens (RFC 8705) end to end, over real TLS: an
//! axum service behind `RequireMfaLayer`, served over rustls with client
//! authentication. The accept loop (`examples/support/tls.rs`) puts the
//! client certificate the handshake verified into each request as
//! `tower_mfa::ClientCertificate`; the layer compares its SHA-256 with the
//! token's `cnf.x5t#S256`.
//!
//! ```text
//! cargo run --example mtls
//! ```
//!
//! Everything is made at start-up: a test CA, the server's certificate, two
//! client certificates from the CA, an issuer key and a token bound to the
//! first client certificate. The server asks for a client certificate but
//! also accepts connections without one, so the layer (not the handshake)
//! refuses a missing or another certificate. It prints each request and its
//! answer, and exits non-zero if an answer is not the expected one.

#[path = "support/tls.rs"]
mod tls;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use tower_mfa::{RequireMfaLayer, Rule, Sender};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "api://payments";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS signed with the issuer's Ed25519 key.
fn token(issuer: &Ed25519KeyPair, claims: &Value) -> String {
    let header = json!({"alg": "EdDSA", "kid": "issuer-1", "typ": "at+jwt"});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(issuer.sign(input.as_bytes()).as_ref()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    // The TLS side: a CA, the server certificate, two clients of the CA.
    let pki = tls::Pki::new()?;
    let alice = pki.client("alice")?;
    let mallory = pki.client("mallory")?;

    // The issuer, and a token bound to alice's certificate:
    // cnf.x5t#S256 = base64url(SHA-256(DER)), as the issuer computed it
    // when alice authenticated with that certificate.
    let issuer = Ed25519KeyPair::generate()?;
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "issuer-1", "use": "sig",
        "x": b64(issuer.public_key().as_ref()),
    }]});
    let claims = |cnf: Option<Value>| {
        let mut c = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "alice",
            "iat": now, "exp": now + 600, "amr": ["pwd", "mfa"],
        });
        if let Some(cnf) = cnf {
            c["cnf"] = cnf;
        }
        c
    };
    let x5t = alice.client_certificate().thumbprint();
    let bound = token(&issuer, &claims(Some(json!({ "x5t#S256": x5t }))));
    let unbound = token(&issuer, &claims(None));

    // The guarded service: payments need certificate-bound tokens; any
    // route refuses a bound token without its certificate.
    let mfa = RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .static_jwks(jwks.to_string().as_bytes())?
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::MtlsRequired))
        .rule(Rule::mfa("/v1/**"))
        .build()?;
    let app = Router::new()
        .route("/v1/payments/{id}", get(|| async { "paid" }))
        .route("/v1/customers/{id}", get(|| async { "a customer" }))
        .layer(mfa);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(tls::serve(listener, pki.server_config()?, app));
    println!(
        "serving https://localhost:{} (client certificates from the test CA)",
        addr.port()
    );

    let cases = [
        (
            "bound token, alice's certificate",
            &bound,
            Some(&alice),
            "/v1/payments/1",
            StatusCode::OK,
        ),
        (
            "bound token, no certificate",
            &bound,
            None,
            "/v1/payments/1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bound token, mallory's certificate (same CA)",
            &bound,
            Some(&mallory),
            "/v1/payments/1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bound token on a bearer route, no certificate",
            &bound,
            None,
            "/v1/customers/1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unbound token on mtls_required",
            &unbound,
            Some(&alice),
            "/v1/payments/1",
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unbound token on a bearer route",
            &unbound,
            None,
            "/v1/customers/1",
            StatusCode::OK,
        ),
    ];
    let mut wrong = 0;
    for (what, token, identity, path, expected) in cases {
        let req = Request::get(path)
            .header("host", format!("localhost:{}", addr.port()))
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))?;
        let response = tls::send(addr, pki.client_config(identity)?, req).await?;
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        println!("{what}: {} {challenge}", response.status());
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
