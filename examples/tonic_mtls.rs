//! Certificate-bound access tokens (RFC 8705) on tonic, over real TLS: the
//! gRPC health service behind `RequireMfaLayer` with an `mtls_required`
//! rule, served over rustls with client authentication through
//! `Server::serve_with_incoming`.
//!
//! ```text
//! cargo run --example tonic_mtls
//! ```
//!
//! Each TLS connection is wrapped in a type implementing tonic's `Connected`,
//! whose connection info is the client certificate the handshake verified;
//! tonic puts it into every request's extensions, and a `map_request` in
//! front of the layer turns it into `tower_mfa::ClientCertificate`. A test
//! CA, two client certificates and a token bound to the first are made at
//! start-up; the example calls `Health/Check` with each and exits non-zero if
//! an answer is not the expected one.

#[path = "support/tls.rs"]
mod tls;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tonic::transport::server::Connected;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower_mfa::{ClientCertificate, RequireMfaLayer, Rule, Sender};

const ISSUER: &str = "https://idp.example.com/";
const AUDIENCE: &str = "api://health";

/// The client certificate of one connection, as tonic's connection info.
#[derive(Clone)]
struct PeerCertificate(Option<ClientCertificate>);

/// A server-side TLS connection that tells tonic its client certificate.
struct TlsConnection(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for TlsConnection {
    type ConnectInfo = PeerCertificate;

    fn connect_info(&self) -> PeerCertificate {
        PeerCertificate(
            self.0
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| ClientCertificate::from_der(leaf.as_ref().to_vec())),
        )
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let pki = tls::Pki::new()?;
    let alice = pki.client("alice")?;
    let mallory = pki.client("mallory")?;

    let issuer = Ed25519KeyPair::generate()?;
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "issuer-1", "use": "sig",
        "x": b64(issuer.public_key().as_ref()),
    }]});
    let header = json!({"alg": "EdDSA", "kid": "issuer-1", "typ": "at+jwt"});
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "app-1", "client_id": "app-1",
        "iat": now, "exp": now + 600,
        "cnf": {"x5t#S256": alice.client_certificate().thumbprint()},
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let token = format!("{input}.{}", b64(issuer.sign(input.as_bytes()).as_ref()));

    let mfa = RequireMfaLayer::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .static_jwks(jwks.to_string().as_bytes())?
        .rule(Rule::authenticated("/grpc.health.v1.Health/*").sender(Sender::MtlsRequired))
        .build()?;
    // tonic's connection info into the extension the layer reads.
    let certificate_to_extension = tower::ServiceBuilder::new()
        .map_request(|mut req: http::Request<tonic::body::Body>| {
            if let Some(PeerCertificate(Some(c))) =
                req.extensions().get::<PeerCertificate>().cloned()
            {
                req.extensions_mut().insert(c);
            }
            req
        })
        .layer(mfa)
        .into_inner();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(pki.server_config()?);
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<TlsConnection>>(16);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                // A failed handshake just drops the connection.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = tx.send(Ok(TlsConnection(tls))).await;
                }
            });
        }
    });
    let (_reporter, health) = tonic_health::server::health_reporter();
    let server = Server::builder()
        .layer(certificate_to_extension)
        .add_service(health)
        .serve_with_incoming(tokio_stream::wrappers::ReceiverStream::new(rx));
    tokio::spawn(server);

    let cases = [
        (
            "bound token, alice's certificate",
            Some(&alice),
            tonic::Code::Ok,
        ),
        (
            "bound token, no certificate",
            None,
            tonic::Code::Unauthenticated,
        ),
        (
            "bound token, mallory's certificate (same CA)",
            Some(&mallory),
            tonic::Code::Unauthenticated,
        ),
    ];
    let mut wrong = 0;
    for (what, identity, expected) in cases {
        let connector = TlsConnector::from(pki.client_config(identity)?);
        let channel = Endpoint::from_shared(format!("http://localhost:{}", addr.port()))?
            .connect_with_connector(tower::service_fn(move |_uri| {
                let connector = connector.clone();
                async move {
                    let tcp = TcpStream::connect(addr).await?;
                    let name = rustls::pki_types::ServerName::try_from("localhost")
                        .map_err(std::io::Error::other)?;
                    let tls = connector.connect(name, tcp).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(tls))
                }
            }))
            .await?;
        let mut client = HealthClient::new(channel);
        let mut request = tonic::Request::new(HealthCheckRequest::default());
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        let code = match client.check(request).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        };
        println!("{what}: {code:?}");
        if code != expected {
            println!("  expected {expected:?}");
            wrong += 1;
        }
    }
    if wrong > 0 {
        return Err(format!("{wrong} unexpected answers").into());
    }
    Ok(())
}
