//! A test issuer: key pairs for every supported algorithm, token minting with
//! arbitrary headers and payloads, and an in-process JWKS / discovery server
//! on 127.0.0.1:0 whose answers a test can change and whose hits it can count.
//!
//! Include with `#[path = "support/mint.rs"] mod mint;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const ISSUER: &str = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
pub const TENANT: &str = "df845f1a-7b35-40a2-ba78-6481de91f8ae";
pub const AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

enum Signer {
    Rsa(RsaKeyPair, bool),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A signing key with its public JWK.
pub struct TestKey {
    pub kid: String,
    pub alg: &'static str,
    signer: Signer,
    jwk: Value,
}

fn rsa_pair(bits: KeySize) -> RsaKeyPair {
    RsaKeyPair::generate(bits).expect("rsa keygen")
}

impl TestKey {
    /// RS256 with a 2048-bit key. RSA key generation is slow: reuse keys.
    pub fn rs256(kid: &str) -> Self {
        Self::rsa(kid, rsa_pair(KeySize::Rsa2048), false)
    }

    /// PS256 with a 2048-bit key.
    pub fn ps256(kid: &str) -> Self {
        Self::rsa(kid, rsa_pair(KeySize::Rsa2048), true)
    }

    fn rsa(kid: &str, pair: RsaKeyPair, pss: bool) -> Self {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let alg = if pss { "PS256" } else { "RS256" };
        let jwk = json!({"kty":"RSA","kid":kid,"use":"sig","alg":alg,"n":b64(&public.n),"e":b64(&public.e)});
        Self {
            kid: kid.into(),
            alg,
            signer: Signer::Rsa(pair, pss),
            jwk,
        }
    }

    pub fn es256(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Self::ec(kid, pair, "ES256", "P-256", 32)
    }

    pub fn es384(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        Self::ec(kid, pair, "ES384", "P-384", 48)
    }

    fn ec(kid: &str, pair: EcdsaKeyPair, alg: &'static str, crv: &str, n: usize) -> Self {
        let point = pair.public_key().as_ref().to_vec();
        let (x, y) = point[1..].split_at(n);
        let jwk = json!({"kty":"EC","kid":kid,"use":"sig","crv":crv,"x":b64(x),"y":b64(y)});
        Self {
            kid: kid.into(),
            alg,
            signer: Signer::Ec(pair),
            jwk,
        }
    }

    pub fn ed25519(kid: &str) -> Self {
        let pair = Ed25519KeyPair::generate().unwrap();
        let jwk = json!({"kty":"OKP","kid":kid,"use":"sig","crv":"Ed25519","x":b64(pair.public_key().as_ref())});
        Self {
            kid: kid.into(),
            alg: "EdDSA",
            signer: Signer::Ed(pair),
            jwk,
        }
    }

    /// The public JWK (a copy the test may edit).
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// Raw signature bytes over `message`.
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            Signer::Rsa(pair, pss) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                let enc: &'static dyn aws_lc_rs::signature::RsaEncoding = if *pss {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                pair.sign(enc, &SystemRandom::new(), message, &mut sig)
                    .unwrap();
                sig
            }
            Signer::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            Signer::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// A token with this exact header and payload JSON, signed by this key.
    pub fn sign_json(&self, header: &Value, payload: &Value) -> String {
        self.sign_raw(
            header.to_string().as_bytes(),
            payload.to_string().as_bytes(),
        )
    }

    /// A token over raw header/payload bytes (for duplicate members, bad JSON...).
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let sig = self.sign_bytes(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }

    /// The usual header: `{"alg":…,"kid":…,"typ":"JWT"}`.
    pub fn header(&self) -> Value {
        json!({"alg": self.alg, "kid": self.kid, "typ": "JWT"})
    }

    /// A token with the usual header and this payload.
    pub fn token(&self, payload: &Value) -> String {
        self.sign_json(&self.header(), payload)
    }
}

/// Shared RS256 key `rsa-1` (generated once per test binary).
pub fn rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::rs256("rsa-1"))
}

/// A second RS256 key `rsa-2`.
pub fn rsa_key2() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::rs256("rsa-2"))
}

/// `{"keys":[...]}` of these keys.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// The seed's app+user claims (Partner Center), valid now, with this `amr`.
pub fn user_claims(amr: &[&str]) -> Value {
    let now = now();
    json!({
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        "acr": "1",
        "amr": amr,
        "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
        "appidacr": "0",
        "name": "Isaiah Williams",
        "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
        "sub": "f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11",
        "scp": "user_impersonation",
        "tid": TENANT,
        "upn": "Isaiah.Williams@testtestpartner.onmicrosoft.com",
        "ver": "1.0"
    })
}

/// Entra v1 app-only claims: no `scp`, `oid == sub`, roles.
pub fn app_claims() -> Value {
    let now = now();
    json!({
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
        "appidacr": "1",
        "idp": ISSUER,
        "oid": "0a8b3c2d-1111-2222-3333-444455556666",
        "sub": "0a8b3c2d-1111-2222-3333-444455556666",
        "roles": ["Partner.Read"],
        "tid": TENANT,
        "ver": "1.0"
    })
}

/// What the JWKS server answers.
#[derive(Clone)]
pub enum Answer {
    /// 200 with this JSON body.
    Json(Value),
    /// This status and raw body.
    Raw(u16, Vec<u8>),
    /// 200 JSON after a delay.
    Slow(Duration, Value),
    /// A redirect to this absolute URL.
    Redirect(String),
}

#[derive(Clone)]
pub struct JwksServer {
    pub addr: SocketAddr,
    pub jwks_hits: Arc<AtomicUsize>,
    pub discovery_hits: Arc<AtomicUsize>,
    answer: Arc<Mutex<Answer>>,
    issuer: Arc<Mutex<String>>,
    max_age: Arc<Mutex<Option<u64>>>,
}

impl JwksServer {
    /// Starts a server answering `GET /jwks` and
    /// `GET /.well-known/openid-configuration` on 127.0.0.1:0.
    pub async fn start(initial: Value) -> Self {
        use axum::{Router, extract::State, response::IntoResponse, routing::get};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Self {
            addr,
            jwks_hits: Arc::new(AtomicUsize::new(0)),
            discovery_hits: Arc::new(AtomicUsize::new(0)),
            answer: Arc::new(Mutex::new(Answer::Json(initial))),
            issuer: Arc::new(Mutex::new(ISSUER.to_owned())),
            max_age: Arc::new(Mutex::new(None)),
        };
        async fn jwks(State(s): State<JwksServer>) -> axum::response::Response {
            s.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let answer = s.answer.lock().unwrap().clone();
            let max_age = *s.max_age.lock().unwrap();
            let json = |v: Value| {
                let mut r = ([("content-type", "application/json")], v.to_string()).into_response();
                if let Some(age) = max_age {
                    r.headers_mut().insert(
                        "cache-control",
                        format!("public, max-age={age}").parse().unwrap(),
                    );
                }
                r
            };
            match answer {
                Answer::Json(v) => json(v),
                Answer::Raw(status, body) => {
                    (http::StatusCode::from_u16(status).unwrap(), body).into_response()
                }
                Answer::Slow(delay, v) => {
                    tokio::time::sleep(delay).await;
                    json(v)
                }
                Answer::Redirect(to) => {
                    (http::StatusCode::FOUND, [("location", to)]).into_response()
                }
            }
        }
        async fn discovery(State(s): State<JwksServer>) -> axum::response::Response {
            s.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let issuer = s.issuer.lock().unwrap().clone();
            axum::Json(json!({
                "issuer": issuer,
                "jwks_uri": format!("{}/jwks", s.base()),
            }))
            .into_response()
        }
        let app = Router::new()
            .route("/jwks", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(server.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        server
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.base())
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base())
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn set_jwks(&self, jwks: Value) {
        self.set(Answer::Json(jwks));
    }

    /// The `issuer` the discovery document names.
    pub fn set_issuer(&self, issuer: &str) {
        *self.issuer.lock().unwrap() = issuer.to_owned();
    }

    pub fn set_max_age(&self, age: Option<u64>) {
        *self.max_age.lock().unwrap() = age;
    }

    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.discovery_hits.load(Ordering::SeqCst)
    }
}
