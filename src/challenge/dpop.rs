//! The `DPoP` challenge (RFC 9449 §7.1), beside or instead of the `Bearer`
//! one on rules that accept DPoP, and the `DPoP-Nonce` header.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue};

use crate::dpop::Sender;
use crate::error::{ErrorKind, Reason};
use crate::jwks::key::SUPPORTED_ALGORITHMS;

/// The proof algorithms advertised in `algs`, space-separated.
fn algs() -> String {
    SUPPORTED_ALGORITHMS
        .iter()
        .map(|alg| crate::dpop::proof::alg_name(*alg))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Pre-rendered `DPoP` challenges.
#[derive(Debug, Clone)]
pub(crate) struct DpopChallenges {
    bare: HeaderValue,
    invalid_proof: HeaderValue,
    use_nonce: HeaderValue,
}

impl DpopChallenges {
    /// The three challenges: bare, `invalid_dpop_proof`, `use_dpop_nonce`,
    /// each with `resource_metadata` when the layer publishes metadata.
    pub(crate) fn new(metadata: Option<&str>) -> Self {
        let algs = algs();
        let render = |value: String| {
            HeaderValue::from_str(&super::with_metadata(value, metadata))
                .unwrap_or_else(|_| HeaderValue::from_static("DPoP"))
        };
        Self {
            bare: render(format!("DPoP algs=\"{algs}\"")),
            invalid_proof: render(format!(
                "DPoP error=\"invalid_dpop_proof\", error_description=\"The DPoP proof is invalid\", algs=\"{algs}\""
            )),
            use_nonce: render(format!(
                "DPoP error=\"use_dpop_nonce\", error_description=\"A server nonce is required in the DPoP proof\", algs=\"{algs}\""
            )),
        }
    }

    /// Rewrites the challenges of an answer to a refusal on a rule accepting
    /// DPoP: a proof fault or a missing token gets the `DPoP` challenge
    /// (with its `error`) and, where bearer tokens are also accepted, the
    /// bare `bearer` one; any other refusal keeps its `Bearer` challenge and
    /// gains the bare `DPoP` one. gRPC answers carry one value, the
    /// challenges joined by `, `. `nonce` becomes `DPoP-Nonce`.
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
        reason: Reason,
        sender: Sender,
        grpc: bool,
        bearer: &HeaderValue,
        nonce: Option<&str>,
    ) {
        let dpop = match reason {
            Reason::DpopNonce => &self.use_nonce,
            r if r.is_dpop_proof() => &self.invalid_proof,
            _ => &self.bare,
        };
        let replaces_bearer = reason.is_dpop_proof() || reason.kind() == ErrorKind::MissingToken;
        let first = if replaces_bearer {
            (sender == Sender::DpopAllowed).then(|| bearer.clone())
        } else {
            headers.get(WWW_AUTHENTICATE).cloned()
        };
        headers.remove(WWW_AUTHENTICATE);
        match first {
            Some(first) if grpc => {
                let mut joined = first.as_bytes().to_vec();
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(dpop.as_bytes());
                if let Ok(value) = HeaderValue::from_bytes(&joined) {
                    headers.insert(WWW_AUTHENTICATE, value);
                }
            }
            Some(first) => {
                headers.insert(WWW_AUTHENTICATE, first);
                headers.append(WWW_AUTHENTICATE, dpop.clone());
            }
            None => {
                headers.insert(WWW_AUTHENTICATE, dpop.clone());
            }
        }
        if let Some(nonce) = nonce
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            headers.insert("dpop-nonce", value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_byte_exact() {
        let c = DpopChallenges::new(None);
        let bearer = HeaderValue::from_static("Bearer");
        let mut headers = HeaderMap::new();
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        c.apply(
            &mut headers,
            Reason::DpopBadSignature,
            Sender::DpopRequired,
            false,
            &bearer,
            None,
        );
        let all: Vec<_> = headers.get_all(WWW_AUTHENTICATE).iter().collect();
        assert_eq!(
            all,
            [
                "DPoP error=\"invalid_dpop_proof\", error_description=\"The DPoP proof is invalid\", algs=\"RS256 PS256 ES256 ES384 EdDSA\""
            ]
        );
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        c.apply(
            &mut headers,
            Reason::NoCredentials,
            Sender::DpopAllowed,
            true,
            &bearer,
            Some("n1"),
        );
        assert_eq!(
            headers[WWW_AUTHENTICATE],
            "Bearer, DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\""
        );
        assert_eq!(headers["dpop-nonce"], "n1");
    }
}
