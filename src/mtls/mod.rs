//! Certificate-bound access tokens (RFC 8705 §3): a token whose
//! `cnf.x5t#S256` names the SHA-256 thumbprint of a client certificate is
//! accepted only on a request that carries that certificate.
//!
//! The layer does no TLS. The server's TLS stack puts the client certificate
//! the handshake verified into the request's extensions as a
//! [`ClientCertificate`]; the layer compares its thumbprint with the token's
//! in constant time. A bound token is refused without its certificate under
//! every [`Sender`](crate::Sender); a rule with
//! [`Sender::MtlsRequired`](crate::Sender::MtlsRequired) also refuses tokens
//! that are not bound.
//!
//! ```
//! use tower_mfa::ClientCertificate;
//!
//! // In the accept loop, after the handshake (rustls: `peer_certificates()`):
//! let der: &[u8] = b"...the leaf certificate, DER...";
//! let mut req = http::Request::new(());
//! req.extensions_mut().insert(ClientCertificate::from_der(der.to_vec()));
//! ```

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;

use crate::claims::{Claims, Cnf};
use crate::dpop::Sender;
use crate::error::Reason;

/// The client certificate of the connection a request came on (the leaf,
/// DER-encoded), put into the request's extensions by the server's TLS
/// stack after the handshake verified it.
///
/// Only a certificate the TLS handshake authenticated belongs here: the
/// layer trusts this extension as the connection's proof of possession.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    der: Bytes,
}

impl ClientCertificate {
    /// The certificate from its DER bytes (not parsed: the TLS stack did).
    pub fn from_der(der: impl Into<Bytes>) -> Self {
        Self { der: der.into() }
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// base64url(SHA-256(DER)), the value of a bound token's `cnf.x5t#S256`.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest(&SHA256, &self.der).as_ref())
    }
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

/// The token's `cnf.x5t#S256`: `Ok(None)` when it has no `cnf` or no
/// `x5t#S256` in it, an error when `cnf` is not an object or the member is
/// not a non-empty string.
pub(crate) fn bound_certificate(claims: &Claims) -> Result<Option<&str>, Reason> {
    claims.confirmation(|cnf| match cnf {
        Cnf::Object { x5t_s256, .. } => Some(x5t_s256),
        _ => None,
    })
}

/// The certificate binding of one request: a bound token needs the
/// certificate it names (constant-time compare of the thumbprints); under
/// [`Sender::MtlsRequired`] an unbound token is refused.
pub(crate) fn check(
    claims: &Claims,
    certificate: Option<&ClientCertificate>,
    sender: Sender,
) -> Result<(), Reason> {
    let Some(bound) = bound_certificate(claims)? else {
        return if sender.requires_mtls() {
            Err(Reason::MtlsRequired)
        } else {
            Ok(())
        };
    };
    let certificate = certificate.ok_or(Reason::MtlsCertificateMissing)?;
    let actual = certificate.thumbprint();
    aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_bytes(), bound.as_bytes())
        .map_err(|_| Reason::MtlsCertificateMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        let serde_json::Value::Object(map) = json else {
            panic!("not an object")
        };
        Claims::from_payload(map).unwrap()
    }

    #[test]
    fn binding() {
        let cert = ClientCertificate::from_der(b"cert one".to_vec());
        let other = ClientCertificate::from_der(b"cert two".to_vec());
        let bound = claims(serde_json::json!({"cnf": {"x5t#S256": cert.thumbprint()}}));
        let plain = claims(serde_json::json!({"sub": "a"}));
        for sender in [Sender::Bearer, Sender::DpopAllowed, Sender::MtlsRequired] {
            assert_eq!(check(&bound, Some(&cert), sender), Ok(()));
            assert_eq!(
                check(&bound, Some(&other), sender),
                Err(Reason::MtlsCertificateMismatch)
            );
            assert_eq!(
                check(&bound, None, sender),
                Err(Reason::MtlsCertificateMissing)
            );
        }
        assert_eq!(check(&plain, Some(&cert), Sender::Bearer), Ok(()));
        assert_eq!(
            check(&plain, Some(&cert), Sender::MtlsRequired),
            Err(Reason::MtlsRequired)
        );
        let wrong = claims(serde_json::json!({"cnf": {"x5t#S256": 5}}));
        assert_eq!(
            check(&wrong, Some(&cert), Sender::Bearer),
            Err(Reason::ClaimType)
        );
        let empty = claims(serde_json::json!({"cnf": {"x5t#S256": ""}}));
        assert_eq!(
            check(&empty, Some(&cert), Sender::Bearer),
            Err(Reason::ClaimType)
        );
    }

    #[test]
    fn thumbprint_is_base64url_sha256() {
        // SHA-256("abc"), RFC 4648 base64url without padding.
        let cert = ClientCertificate::from_der(b"abc".to_vec());
        assert_eq!(
            cert.thumbprint(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
