//! TLS with client certificates for the mTLS example and tests: a test CA
//! made at run time (rcgen), a rustls server that asks every client for a
//! certificate from that CA but also accepts none, an accept loop that puts
//! the verified certificate into each request as
//! `tower_mfa::ClientCertificate`, and a client that presents one or none.
//!
//! rustls on the aws-lc-rs provider, passed explicitly (no process-wide
//! default), so no OpenSSL and no global state.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tower::ServiceExt;
use tower_mfa::ClientCertificate;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A certificate and its private key.
pub struct Identity {
    /// The certificate, DER.
    pub cert: CertificateDer<'static>,
    /// The certificate, PEM.
    pub pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// What the layer is given for this certificate.
    pub fn client_certificate(&self) -> ClientCertificate {
        ClientCertificate::from_der(self.cert.as_ref().to_vec())
    }
}

/// A test CA and a server certificate for `localhost` and 127.0.0.1.
pub struct Pki {
    ca: Issuer<'static, KeyPair>,
    /// The CA certificate, DER.
    pub ca_cert: CertificateDer<'static>,
    /// The server's certificate.
    pub server: Identity,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl Pki {
    /// A fresh CA (ECDSA P-256) and server certificate.
    pub fn new() -> Result<Self, BoxError> {
        let ca_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "tower-mfa test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = params.self_signed(&ca_key)?.der().clone();
        let ca = Issuer::new(params, ca_key);
        let mut server = CertificateParams::new(vec!["localhost".to_owned()])?;
        server
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = issue(&ca, server)?;
        Ok(Self {
            ca,
            ca_cert,
            server,
        })
    }

    /// A client certificate from this CA, with `name` as its common name.
    pub fn client(&self, name: &str) -> Result<Identity, BoxError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        issue(&self.ca, params)
    }

    fn roots(&self) -> Result<Arc<rustls::RootCertStore>, BoxError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_cert.clone())?;
        Ok(Arc::new(roots))
    }

    /// The server's TLS settings: a client certificate from the CA is
    /// verified when sent, and a connection without one is accepted too
    /// (the layer, not the handshake, refuses what needs one).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, BoxError> {
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots()?, provider())
            .allow_unauthenticated()
            .build()?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.server.cert.clone()],
                PrivateKeyDer::Pkcs8(self.server.key.clone_key()),
            )?;
        Ok(Arc::new(config))
    }

    /// A client's TLS settings: trusts the CA, presents `identity` if any.
    pub fn client_config(
        &self,
        identity: Option<&Identity>,
    ) -> Result<Arc<rustls::ClientConfig>, BoxError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(self.roots()?);
        let config = match identity {
            Some(id) => builder.with_client_auth_cert(
                vec![id.cert.clone()],
                PrivateKeyDer::Pkcs8(id.key.clone_key()),
            )?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

fn issue(ca: &Issuer<'static, KeyPair>, params: CertificateParams) -> Result<Identity, BoxError> {
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok(Identity {
        pem: cert.pem(),
        cert: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    })
}

/// Serves `app` over TLS on `listener`, forever: after each handshake the
/// client's certificate (the leaf, verified by rustls), if any, goes into
/// every request of that connection as a [`ClientCertificate`].
pub async fn serve<S>(listener: TcpListener, config: Arc<rustls::ServerConfig>, app: S)
where
    S: tower::Service<
            Request<axum::body::Body>,
            Response = axum::response::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let acceptor = TlsAcceptor::from(config);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // A failed handshake (an unknown CA) just closes the connection.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| ClientCertificate::from_der(leaf.as_ref().to_vec()));
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                if let Some(certificate) = &certificate {
                    req.extensions_mut().insert(certificate.clone());
                }
                app.clone().oneshot(req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// Sends `req` to `addr` over a fresh TLS connection (server name
/// `localhost`), presenting `identity` if any; the answer, read whole.
pub async fn send(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    req: Request<Full<Bytes>>,
) -> Result<Response<Bytes>, BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(req).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, body))
}
