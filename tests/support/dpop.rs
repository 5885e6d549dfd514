//! A DPoP client for tests: its key, the RFC 7638 thumbprint computed
//! independently of the crate, proofs with any header and claims, a layer
//! with DPoP rules over a static key set and a manual clock, and a one-call
//! way to send a request and read every challenge.
//!
//! Include next to `mint` with `#[path = "support/dpop.rs"] mod dpop;`.
#![allow(dead_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use axum::body::Body;
use http::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use tower_mfa::clock::ManualClock;
use tower_mfa::{Builder, DpopConfig, RequireMfaLayer, Rule, Sender};

use super::mint::{self, TestKey, b64};

/// The public origin the test layers are configured with.
pub const ORIGIN: &str = "https://api.example.com";
/// A route requiring DPoP, one allowing it, one for bearer tokens only.
pub const REQUIRED: &str = "/v1/payments";
pub const ALLOWED: &str = "/v1/orders";
pub const BEARER_ONLY: &str = "/v1/customers";

/// The exact challenges.
pub const ALGS: &str = "RS256 PS256 ES256 ES384 EdDSA";
pub const DPOP_BARE: &str = "DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
pub const DPOP_INVALID_PROOF: &str = "DPoP error=\"invalid_dpop_proof\", error_description=\"The DPoP proof is invalid\", algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
pub const DPOP_USE_NONCE: &str = "DPoP error=\"use_dpop_nonce\", error_description=\"A server nonce is required in the DPoP proof\", algs=\"RS256 PS256 ES256 ES384 EdDSA\"";
pub const BEARER_INVALID_TOKEN: &str =
    "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"";

/// A client key: the signer and its public JWK without `kid` or `use`.
pub struct Client {
    pub key: TestKey,
    pub jwk: Value,
}

impl Client {
    pub fn new(key: TestKey) -> Self {
        let mut jwk = key.jwk();
        if let Some(map) = jwk.as_object_mut() {
            map.remove("kid");
            map.remove("use");
            map.remove("alg");
        }
        Self { key, jwk }
    }

    pub fn es256() -> Self {
        Self::new(TestKey::es256("client"))
    }

    /// RFC 7638, written out by hand for each key type.
    pub fn jkt(&self) -> String {
        let j = &self.jwk;
        let s = |name: &str| j[name].as_str().unwrap_or_default().to_owned();
        let canonical = match j["kty"].as_str() {
            Some("EC") => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
            Some("OKP") => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
            _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        };
        b64(digest(&SHA256, canonical.as_bytes()).as_ref())
    }

    /// The usual proof header with this client's key.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.key.alg, "jwk": self.jwk})
    }

    /// A proof with this exact header and claims, signed by this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.key.sign_json(header, claims)
    }

    /// A correct proof for `method` on `ORIGIN + path` carrying `token`.
    pub fn proof(&self, method: &str, path: &str, token: &str, iat: u64) -> String {
        self.sign(
            &self.header(),
            &claims(method, &format!("{ORIGIN}{path}"), token, iat),
        )
    }
}

static JTI: AtomicUsize = AtomicUsize::new(0);

/// Proof claims: a fresh `jti`, `htm`, `htu`, `iat`, `ath`.
pub fn claims(method: &str, htu: &str, token: &str, iat: u64) -> Value {
    let n = JTI.fetch_add(1, Ordering::Relaxed);
    json!({
        "jti": format!("jti-{n}-{iat}"),
        "htm": method,
        "htu": htu,
        "iat": iat,
        "ath": ath(token),
    })
}

/// base64url(SHA-256(token)).
pub fn ath(token: &str) -> String {
    b64(digest(&SHA256, token.as_bytes()).as_ref())
}

/// An MFA user's token from `mint::rsa_key()`, bound to `jkt` when given.
pub fn token(jkt: Option<&str>) -> String {
    let mut claims = mint::user_claims(&["pwd", "mfa"]);
    if let Some(jkt) = jkt {
        claims["cnf"] = json!({"jkt": jkt});
    }
    mint::rsa_key().token(&claims)
}

/// A builder with the three routes and the DPoP settings given.
pub fn builder(config: DpopConfig, clock: &ManualClock) -> Builder {
    RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
        .expect("jwks")
        .clock(clock.clone())
        .dpop(config)
        .rule(Rule::mfa(REQUIRED).sender(Sender::DpopRequired))
        .rule(Rule::mfa(ALLOWED).sender(Sender::DpopAllowed))
        .rule(Rule::mfa(BEARER_ONLY))
}

/// The layer of `builder` with a public origin and defaults.
pub fn layer(clock: &ManualClock) -> RequireMfaLayer {
    builder(DpopConfig::new().public_origin(ORIGIN), clock)
        .build()
        .expect("layer")
}

/// A manual clock at the real current second (tokens are minted at it).
pub fn clock() -> ManualClock {
    ManualClock::at(UNIX_EPOCH + Duration::from_secs(mint::now()))
}

/// A request with these `Authorization` and `DPoP` values.
pub fn request(
    method: &str,
    path: &str,
    authorization: Option<&str>,
    proofs: &[&str],
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .expect("request");
    if let Some(value) = authorization {
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, value.parse().expect("value"));
    }
    for proof in proofs {
        req.headers_mut()
            .append("dpop", proof.parse().expect("value"));
    }
    req
}

/// A request presenting `token` with the `DPoP` scheme and one proof.
pub fn dpop_request(method: &str, path: &str, token: &str, proof: &str) -> Request<Body> {
    request(method, path, Some(&format!("DPoP {token}")), &[proof])
}

/// What a request was answered with.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub challenges: Vec<String>,
    pub nonce: Option<String>,
    pub reached: bool,
}

/// Sends `req` through `layer` in front of a service that answers 200.
pub async fn send(layer: &RequireMfaLayer, req: Request<Body>) -> Answer {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached);
    let inner = tower::service_fn(move |_req: Request<Body>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Body::empty())) }
    });
    let response = layer.layer(inner).oneshot(req).await.expect("infallible");
    Answer {
        status: response.status(),
        challenges: response
            .headers()
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect(),
        nonce: response
            .headers()
            .get("dpop-nonce")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        reached: reached.load(Ordering::SeqCst) == 1,
    }
}
