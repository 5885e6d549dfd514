//! The hostile-input harness: keys that can sign anything (every algorithm,
//! every encoding), a layer in front of a counting inner service, a table of
//! cases with their exact expected answer, and an "attacker" listener that
//! counts every connection it receives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair,
    RsaEncoding, RsaKeyPair, RsaPublicKeyComponents,
};
use axum::body::Body;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use tower_mfa::{RequireMfaLayer, Rule};

use crate::mint::{self, b64};

/// The exact challenges, written once in the shared harness.
pub use crate::shared::{INVALID_REQUEST, INVALID_TOKEN, MFA_PARTNER_CENTER as MFA};
/// The challenge to a request without a token.
pub const MISSING: &str = "Bearer";

/// The route that requires MFA.
pub const MFA_ROUTE: &str = "/v1/customers";

/// What a case must be answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 400 `invalid_request`: a request-level fault.
    InvalidRequest,
    /// 401 `invalid_token` with its description: anything wrong in a token.
    InvalidToken,
    /// 401 bare `Bearer`: no token (or another scheme).
    Missing,
    /// 401 `Bearer error="invalid_token"` (Partner Center): no MFA proof.
    Mfa,
    /// 503 with `Retry-After` and no challenge: unknown `kid`, issuer down.
    Unavailable,
    /// A control: 200 from the inner service (not a hostile case).
    Pass,
}

impl Expect {
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InvalidToken | Self::Missing | Self::Mfa => StatusCode::UNAUTHORIZED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Pass => StatusCode::OK,
        }
    }

    pub fn challenge(self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest => Some(INVALID_REQUEST),
            Self::InvalidToken => Some(INVALID_TOKEN),
            Self::Missing => Some(MISSING),
            Self::Mfa => Some(MFA),
            Self::Unavailable | Self::Pass => None,
        }
    }
}

/// One row of a table: a request and its exact expected answer.
pub struct Case {
    pub name: String,
    pub method: Method,
    pub uri: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: String,
    pub expect: Expect,
}

impl Case {
    /// `Authorization: Bearer {token}` on the MFA route.
    pub fn bearer(name: impl Into<String>, token: &str, expect: Expect) -> Self {
        Self::authorization(name, format!("Bearer {token}").as_bytes(), expect)
    }

    /// This exact `Authorization` value on the MFA route.
    pub fn authorization(name: impl Into<String>, value: &[u8], expect: Expect) -> Self {
        let value = HeaderValue::from_bytes(value).expect("a value http can carry");
        Self::with_headers(name, vec![(http::header::AUTHORIZATION, value)], expect)
    }

    /// These headers on the MFA route.
    pub fn with_headers(
        name: impl Into<String>,
        headers: Vec<(HeaderName, HeaderValue)>,
        expect: Expect,
    ) -> Self {
        Self {
            name: name.into(),
            method: Method::GET,
            uri: MFA_ROUTE.to_owned(),
            headers,
            body: String::new(),
            expect,
        }
    }

    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = uri.into();
        self
    }

    pub fn post(mut self, body: impl Into<String>) -> Self {
        self.method = Method::POST;
        self.body = body.into();
        self
    }

    fn request(&self) -> Request<Body> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&self.uri)
            .body(Body::from(self.body.clone()))
            .expect("request");
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        request
    }
}

/// The counting inner service of the other integration tests.
pub use crate::shared::Inner;

/// What a request was answered with.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub challenge: Option<String>,
    pub retry_after: bool,
    pub inner_calls: usize,
}

/// Sends one request through `layer` in front of a fresh counting service.
pub async fn send(layer: &RequireMfaLayer, request: Request<Body>) -> Answer {
    let inner = Inner::default();
    let response = layer
        .layer(inner.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let challenges: Vec<_> = response
        .headers()
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    assert!(challenges.len() <= 1, "several challenges: {challenges:?}");
    Answer {
        status: response.status(),
        challenge: challenges.into_iter().next(),
        retry_after: response.headers().contains_key(http::header::RETRY_AFTER),
        inner_calls: inner.calls(),
    }
}

/// Checks one answer against an expectation; `Err` describes the mismatch.
pub fn judge(name: &str, expect: Expect, got: &Answer) -> Result<(), String> {
    let inner_ok = if expect == Expect::Pass {
        got.inner_calls == 1
    } else {
        got.inner_calls == 0
    };
    let retry_ok = (expect == Expect::Unavailable) == got.retry_after;
    if got.status == expect.status()
        && got.challenge.as_deref() == expect.challenge()
        && inner_ok
        && retry_ok
    {
        Ok(())
    } else {
        Err(format!(
            "{name}: expected {expect:?} ({} {:?}), got {} {:?}, inner calls {}, retry-after {}",
            expect.status(),
            expect.challenge(),
            got.status,
            got.challenge,
            got.inner_calls,
            got.retry_after
        ))
    }
}

/// Runs a table and fails once with every mismatch listed.
pub async fn run_table(layer: &RequireMfaLayer, cases: Vec<Case>) -> usize {
    let mut failures = Vec::new();
    let mut hostile = 0;
    for case in &cases {
        if case.expect != Expect::Pass {
            hostile += 1;
        }
        let got = send(layer, case.request()).await;
        if let Err(e) = judge(&case.name, case.expect, &got) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    hostile
}

// ---------------------------------------------------------------------------
// Keys

/// RSA key pair that signs with any padding and digest.
pub struct Rsa {
    pub kid: &'static str,
    pub pair: RsaKeyPair,
}

impl Rsa {
    fn new(kid: &'static str) -> Self {
        Self {
            kid,
            pair: RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa keygen"),
        }
    }

    pub fn sign(&self, encoding: &'static dyn RsaEncoding, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), message, &mut sig)
            .expect("rsa sign");
        sig
    }

    pub fn n(&self) -> Vec<u8> {
        RsaPublicKeyComponents::<Vec<u8>>::from(self.pair.public_key()).n
    }

    pub fn e(&self) -> Vec<u8> {
        RsaPublicKeyComponents::<Vec<u8>>::from(self.pair.public_key()).e
    }

    pub fn jwk(&self, alg: &str) -> Value {
        json!({"kty":"RSA","kid":self.kid,"use":"sig","alg":alg,"n":b64(&self.n()),"e":b64(&self.e())})
    }

    /// PKCS#1 `RSAPublicKey` DER.
    pub fn pkcs1_der(&self) -> Vec<u8> {
        der(0x30, &[der_uint(&self.n()), der_uint(&self.e())].concat())
    }

    /// X.509 `SubjectPublicKeyInfo` DER.
    pub fn spki_der(&self) -> Vec<u8> {
        let rsa_encryption = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ];
        let algorithm = der(0x30, &rsa_encryption);
        let mut bits = vec![0];
        bits.extend(self.pkcs1_der());
        der(0x30, &[algorithm, der(0x03, &bits)].concat())
    }
}

/// An ECDSA key that signs in the JOSE (fixed) form or DER.
pub struct Ec {
    pub kid: &'static str,
    pkcs8: Vec<u8>,
    fixed: &'static EcdsaSigningAlgorithm,
    crv: &'static str,
}

impl Ec {
    fn new(kid: &'static str, p384: bool) -> Self {
        let fixed = if p384 {
            &ECDSA_P384_SHA384_FIXED_SIGNING
        } else {
            &ECDSA_P256_SHA256_FIXED_SIGNING
        };
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(fixed, &SystemRandom::new())
            .expect("ec keygen")
            .as_ref()
            .to_vec();
        Self {
            kid,
            pkcs8,
            fixed,
            crv: if p384 { "P-384" } else { "P-256" },
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.sign_with(self.fixed, message)
    }

    /// ASN.1 DER `Ecdsa-Sig-Value` (P-256 only), which JOSE does not use.
    pub fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        self.sign_with(&ECDSA_P256_SHA256_ASN1_SIGNING, message)
    }

    fn sign_with(&self, alg: &'static EcdsaSigningAlgorithm, message: &[u8]) -> Vec<u8> {
        EcdsaKeyPair::from_pkcs8(alg, &self.pkcs8)
            .expect("pkcs8")
            .sign(&SystemRandom::new(), message)
            .expect("ec sign")
            .as_ref()
            .to_vec()
    }

    pub fn jwk(&self) -> Value {
        let pair = EcdsaKeyPair::from_pkcs8(self.fixed, &self.pkcs8).expect("pkcs8");
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at((point.len() - 1) / 2);
        json!({"kty":"EC","kid":self.kid,"use":"sig","crv":self.crv,"x":b64(x),"y":b64(y)})
    }
}

/// Every key the tests sign with.
pub struct Keys {
    /// `rsa-1`, RS256, published.
    pub rsa: Rsa,
    /// `ps-1`, PS256, published.
    pub ps: Rsa,
    /// `ec-1` (P-256) and `ec-2` (P-384), published.
    pub ec256: Ec,
    pub ec384: Ec,
    /// `ed-1`, published.
    pub ed: Ed25519KeyPair,
    /// The attacker's RSA key (never published); kid `attacker-1`.
    pub attacker: Rsa,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: Rsa::new("rsa-1"),
        ps: Rsa::new("ps-1"),
        ec256: Ec::new("ec-1", false),
        ec384: Ec::new("ec-2", true),
        ed: Ed25519KeyPair::generate().expect("ed keygen"),
        attacker: Rsa::new("attacker-1"),
    })
}

impl Keys {
    /// The issuer's published JWK Set.
    pub fn jwks(&self) -> Value {
        json!({"keys": [
            self.rsa.jwk("RS256"),
            self.ps.jwk("PS256"),
            self.ec256.jwk(),
            self.ec384.jwk(),
            {"kty":"OKP","kid":"ed-1","use":"sig","crv":"Ed25519","x":b64(self.ed.public_key().as_ref())},
        ]})
    }

    /// A compact JWS of `header` and `payload` bytes, signed by `sign`.
    pub fn compact(header: &[u8], payload: &[u8], sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let sig = sign(input.as_bytes());
        format!("{input}.{}", b64(&sig))
    }

    /// RS256 by `rsa-1` over raw header and payload bytes.
    pub fn rs256_raw(&self, header: &[u8], payload: &[u8]) -> String {
        Self::compact(header, payload, |m| {
            self.rsa.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, m)
        })
    }

    /// RS256 by `rsa-1` with this header and payload JSON.
    pub fn rs256(&self, header: &Value, payload: &Value) -> String {
        self.rs256_raw(
            header.to_string().as_bytes(),
            payload.to_string().as_bytes(),
        )
    }

    /// RS256 by `rsa-1`, usual header, these claims.
    pub fn token(&self, claims: &Value) -> String {
        self.rs256(&rsa_header(), claims)
    }

    /// A valid MFA token by `rsa-1`.
    pub fn valid(&self) -> String {
        self.token(&mfa_claims())
    }
}

/// `{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`.
pub fn rsa_header() -> Value {
    json!({"alg":"RS256","kid":"rsa-1","typ":"JWT"})
}

/// The seed's app+user claims with MFA, valid now.
pub fn mfa_claims() -> Value {
    mint::user_claims(&["pwd", "mfa"])
}

/// `value` with `name` set.
pub fn with(mut value: Value, name: &str, v: Value) -> Value {
    value[name] = v;
    value
}

/// `value` without `name`.
pub fn without(mut value: Value, name: &str) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove(name);
    }
    value
}

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![u8::try_from(len).expect("short")]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | u8::try_from(bytes.len()).expect("len")];
        out.extend(bytes);
        out
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// PEM armour around DER.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

// ---------------------------------------------------------------------------
// The issuer and the attacker

/// A layer over the in-process JWKS server, already warmed up.
pub struct Fixture {
    pub server: mint::JwksServer,
    pub layer: RequireMfaLayer,
}

impl Fixture {
    pub async fn start() -> Self {
        let server = mint::JwksServer::start(keys().jwks()).await;
        let layer = crate::shared::over_jwks_server(&server)
            .rule(Rule::public("/healthz"))
            .rule(Rule::mfa("/v1/**"))
            .build()
            .expect("layer");
        layer.warm_up().await;
        assert_eq!(layer.cached_keys(), 5, "every published key is usable");
        Self { server, layer }
    }
}

/// A listener that answers nothing useful and counts every connection: a
/// token's `jku`/`x5u`, or a redirect, must never reach it.
pub struct Attacker {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Attacker {
    pub async fn start(ip: &str) -> Self {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .expect("bind attacker");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let jwks = json!({"keys":[keys().attacker.jwk("RS256"), {
            "kty":"RSA","kid":"rsa-1","alg":"RS256","n":b64(&keys().attacker.n()),"e":b64(&keys().attacker.e())
        }]})
        .to_string();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = jwks.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { addr, connections }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
