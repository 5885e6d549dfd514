//! Certificate-bound tokens (RFC 8705) over real TLS: a test CA made at run
//! time, an axum service behind the layer served over rustls with client
//! authentication (any certificate from the CA, or none), and tokens from
//! the real OpenID Provider (oidc-provider's mTLS feature) bound to one
//! client certificate. The matching certificate passes; no certificate and
//! another certificate from the same CA are refused by the layer, not by the
//! handshake. Also runs `examples/mtls.rs` and `examples/tonic_mtls.rs`
//! (docs/MTLS.md) and `examples/resource_metadata.rs`
//! (docs/RESOURCE_METADATA.md).

#[path = "support/idp.rs"]
mod idp;
#[path = "support/run_example.rs"]
mod run_example;
#[path = "../examples/support/tls.rs"]
mod tls;

use std::net::SocketAddr;

use run_example::run_example;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower_mfa::{RequireMfaLayer, ResourceMetadata, Rule, Sender, WELL_KNOWN_RESOURCE_METADATA};

const INVALID_TOKEN: &str =
    "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"";

struct Server {
    addr: SocketAddr,
    pki: tls::Pki,
}

impl Server {
    async fn start(layer: RequireMfaLayer, pki: tls::Pki) -> Self {
        let app = Router::new()
            .route("/v1/payments/{id}", get(|| async { "paid" }))
            .route("/v1/customers/{id}", get(|| async { "a customer" }))
            .layer(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(tls::serve(listener, pki.server_config().unwrap(), app));
        Self { addr, pki }
    }

    async fn get(
        &self,
        path: &str,
        token: Option<&str>,
        identity: Option<&tls::Identity>,
    ) -> Response<Bytes> {
        let mut req = Request::get(path).header("host", format!("localhost:{}", self.addr.port()));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let config = self.pki.client_config(identity).unwrap();
        tls::send(
            self.addr,
            config,
            req.body(Full::new(Bytes::new())).unwrap(),
        )
        .await
        .expect("the TLS handshake and the request succeed")
    }
}

fn challenge(response: &Response<Bytes>) -> Option<&str> {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap())
}

#[track_caller]
fn assert_refused(response: &Response<Bytes>, expected: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{response:?}");
    assert_eq!(challenge(response), Some(expected), "{response:?}");
}

#[tokio::test]
async fn provider_tokens_bound_to_a_certificate_pass_only_with_it_over_real_tls() {
    let Some(idp) = idp::start_or_skip().await else {
        return;
    };
    let pki = tls::Pki::new().unwrap();
    let alice = pki.client("alice").unwrap();
    let mallory = pki.client("mallory").unwrap();

    // The provider binds tokens to the certificate it is shown, and refuses
    // to issue an unbound token to this client.
    let bound = idp.mtls_app_token(&alice.pem).await;
    let (_, claims) = idp::decode_jwt(&bound);
    assert_eq!(
        claims["cnf"]["x5t#S256"],
        alice.client_certificate().thumbprint(),
        "{claims}"
    );
    assert_eq!(idp.mtls_app_token_error().await, "invalid_grant");
    let unbound = idp.app_token().await;

    let layer = RequireMfaLayer::builder()
        .issuer(idp.issuer())
        .audience(idp::API_AUDIENCE)
        .jwks_url(idp.jwks_uri())
        .allow_http_loopback(true)
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::MtlsRequired))
        .rule(Rule::mfa("/v1/**"))
        .build()
        .unwrap();
    let server = Server::start(layer, pki).await;

    for path in ["/v1/payments/1", "/v1/customers/1"] {
        let ok = server.get(path, Some(&bound), Some(&alice)).await;
        assert_eq!(ok.status(), StatusCode::OK, "{path}: {ok:?}");
        // Twice: the second is a token-cache hit, still bound.
        let ok = server.get(path, Some(&bound), Some(&alice)).await;
        assert_eq!(ok.status(), StatusCode::OK, "{path}: {ok:?}");
        // No certificate, and another certificate from the same CA: the
        // handshake succeeds, the layer refuses.
        assert_refused(&server.get(path, Some(&bound), None).await, INVALID_TOKEN);
        assert_refused(
            &server.get(path, Some(&bound), Some(&mallory)).await,
            INVALID_TOKEN,
        );
    }
    // An unbound token: refused where certificate binding is required,
    // accepted elsewhere (with or without a certificate).
    assert_refused(
        &server
            .get("/v1/payments/1", Some(&unbound), Some(&alice))
            .await,
        INVALID_TOKEN,
    );
    let ok = server.get("/v1/customers/1", Some(&unbound), None).await;
    assert_eq!(ok.status(), StatusCode::OK, "{ok:?}");
    let ok = server
        .get("/v1/customers/1", Some(&unbound), Some(&mallory))
        .await;
    assert_eq!(ok.status(), StatusCode::OK, "{ok:?}");
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    let pki = tls::Pki::new().unwrap();
    let stranger_pki = tls::Pki::new().unwrap();
    let stranger = stranger_pki.client("stranger").unwrap();
    let layer = RequireMfaLayer::builder()
        .issuer("https://idp.example.com/")
        .audience("api://x")
        .static_jwks(br#"{"keys":[]}"#)
        .unwrap()
        .build()
        .unwrap();
    let server = Server::start(layer, pki).await;
    // The client trusts the server's CA but presents a certificate the
    // server's verifier does not know: rustls refuses it.
    let config = server.pki.client_config(Some(&stranger)).unwrap();
    let req = Request::get("/v1/customers/1")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert!(tls::send(server.addr, config, req).await.is_err());
}

#[tokio::test]
async fn the_metadata_document_over_tls_declares_certificate_bound_tokens() {
    let pki = tls::Pki::new().unwrap();
    let layer = RequireMfaLayer::builder()
        .issuer("https://idp.example.com/")
        .audience("https://localhost")
        .static_jwks(br#"{"keys":[]}"#)
        .unwrap()
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::MtlsRequired))
        .resource_metadata(
            ResourceMetadata::new("https://localhost")
                .authorization_server("https://idp.example.com/"),
        )
        .build()
        .unwrap();
    let server = Server::start(layer, pki).await;
    let doc = server.get(WELL_KNOWN_RESOURCE_METADATA, None, None).await;
    assert_eq!(doc.status(), StatusCode::OK, "{doc:?}");
    let doc: serde_json::Value = serde_json::from_slice(doc.body()).unwrap();
    assert_eq!(doc["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(doc["resource"], "https://localhost");
    let refused = server.get("/v1/payments/1", None, None).await;
    assert_refused(
        &refused,
        "Bearer resource_metadata=\"https://localhost/.well-known/oauth-protected-resource\"",
    );
}

/// `examples/mtls.rs` (docs/MTLS.md) runs and gets the answers it expects.
#[test]
fn the_example_runs_as_documented() {
    let stdout = run_example("mtls");
    assert!(
        stdout.contains("bound token, alice's certificate: 200 OK"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bound token, mallory's certificate (same CA): 401 Unauthorized Bearer error=\"invalid_token\""),
        "{stdout}"
    );
}

/// `examples/resource_metadata.rs` (docs/RESOURCE_METADATA.md) runs and
/// gets the answers it expects.
#[test]
fn the_metadata_example_runs_as_documented() {
    let stdout = run_example("resource_metadata");
    assert!(
        stdout.contains("\"resource\": \"https://api.example.com\""),
        "{stdout}"
    );
    assert!(stdout.contains("Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\""), "{stdout}");
}

/// `examples/tonic_mtls.rs` (docs/MTLS.md, tonic) runs and gets the answers
/// it expects.
#[test]
fn the_tonic_example_runs_as_documented() {
    let stdout = run_example("tonic_mtls");
    assert!(
        stdout.contains("bound token, alice's certificate: Ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bound token, mallory's certificate (same CA): Unauthenticated"),
        "{stdout}"
    );
}
