//! The compact JWS (RFC 7515 §7.1): three base64url segments, a strict header,
//! and the signature check pinned to the key's one algorithm.
//!
//! The payload is decoded only after the signature verified.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::json::parse_object;
use crate::error::Reason;
use crate::jwks::VerifyingKey;
use crate::jwks::key::algorithm_from_name;

/// Which `typ` header values are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum TypPolicy {
    /// `JWT`, `at+jwt`, `application/at+jwt` or absent (Entra sends `JWT`).
    #[default]
    Lenient,
    /// RFC 9068: `at+jwt` or `application/at+jwt` only.
    Rfc9068,
}

/// A token whose header passed every check; payload not yet trusted.
#[derive(Debug)]
pub(crate) struct Jws<'t> {
    pub(crate) token: &'t str,
    pub(crate) alg: Algorithm,
    pub(crate) kid: Box<str>,
    /// Whether `typ` also passes the RFC 9068 strict mode (for issuers that
    /// ask for it: the issuer is known only once the payload is routed).
    pub(crate) rfc9068_typ: bool,
    signing_input: &'t str,
    payload: &'t str,
    signature: &'t str,
}

/// Header parameters that change how a JWS must be processed; we implement
/// none of them, so their presence rejects the token (RFC 7515 §4.1.11).
pub(crate) const REJECTED_HEADER_PARAMS: &[&str] = &[
    "crit", "zip", "cty", "b64", // JWE-only parameters: a JWE is not a JWS.
    "enc", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
];

/// Largest signature accepted, in bytes (RSA 8192 bits).
const MAX_SIGNATURE_BYTES: usize = 1024;
/// The same, in base64url characters.
const MAX_SIGNATURE_LEN: usize = (MAX_SIGNATURE_BYTES * 4).div_ceil(3);

/// Splits and checks a compact JWS. `max_len` bounds the work done.
pub(crate) fn parse(token: &str, max_len: usize, typ: TypPolicy) -> Result<Jws<'_>, Reason> {
    if token.len() > max_len {
        return Err(Reason::TokenTooLarge);
    }
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::MalformedToken);
    };
    if header.is_empty()
        || payload.is_empty()
        || signature.is_empty()
        || signature.len() > MAX_SIGNATURE_LEN
    {
        return Err(Reason::MalformedToken);
    }
    let header_map = decode_segment(header)?;
    let (alg, kid) = check_header(&header_map, typ)?;
    let rfc9068_typ = check_typ(&header_map, TypPolicy::Rfc9068).is_ok();
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Jws {
        token,
        alg,
        kid,
        rfc9068_typ,
        signing_input,
        payload,
        signature,
    })
}

/// Decodes one base64url segment holding a strict JSON object (header or
/// payload). Also used by `inspect` to show a token that fails the checks.
pub(crate) fn decode_segment(segment: &str) -> Result<Map<String, Value>, Reason> {
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Reason::MalformedToken)?;
    parse_object(&json).map_err(|duplicate| {
        if duplicate {
            Reason::DuplicateMember
        } else {
            Reason::MalformedJson
        }
    })
}

fn check_header(
    header: &Map<String, Value>,
    typ: TypPolicy,
) -> Result<(Algorithm, Box<str>), Reason> {
    check_params(header)?;
    let alg = check_alg(header)?;
    check_typ(header, typ)?;
    // `jku`, `x5u`, `jwk` and `x5c` are ignored: never fetched, never trusted.
    let kid = check_kid(header)?;
    Ok((alg, kid))
}

// The header checks one by one, in the order `parse` applies them (`inspect`
// reports each of them).

/// No `crit`, `zip`, `cty`, `b64` or JWE parameter.
pub(crate) fn check_params(header: &Map<String, Value>) -> Result<(), Reason> {
    if REJECTED_HEADER_PARAMS
        .iter()
        .any(|p| header.contains_key(*p))
    {
        return Err(Reason::UnsupportedHeader);
    }
    Ok(())
}

/// `alg` is a string naming a supported algorithm (case-sensitive).
pub(crate) fn check_alg(header: &Map<String, Value>) -> Result<Algorithm, Reason> {
    header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(algorithm_from_name)
        .ok_or(Reason::UnsupportedAlgorithm)
}

/// `typ` is absent or accepted by `typ`.
pub(crate) fn check_typ(header: &Map<String, Value>, typ: TypPolicy) -> Result<(), Reason> {
    match (header.get("typ"), typ) {
        (None, TypPolicy::Lenient) => Ok(()),
        (Some(Value::String(t)), policy) => {
            let jwt_ok = policy == TypPolicy::Lenient && t.eq_ignore_ascii_case("JWT");
            let at_ok =
                t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt");
            if jwt_ok || at_ok {
                Ok(())
            } else {
                Err(Reason::WrongType)
            }
        }
        _ => Err(Reason::WrongType),
    }
}

/// `kid` is a non-empty string.
pub(crate) fn check_kid(header: &Map<String, Value>) -> Result<Box<str>, Reason> {
    match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => Ok(kid.as_str().into()),
        _ => Err(Reason::MissingKeyId),
    }
}

impl Jws<'_> {
    /// Verifies the signature with `key`, whose algorithm must equal the header's.
    pub(crate) fn verify(&self, key: &VerifyingKey) -> Result<(), Reason> {
        if key.algorithm != self.alg {
            return Err(Reason::AlgorithmMismatch);
        }
        // Decoded on the stack: `parse` caps the segment's length.
        let mut signature = [0u8; MAX_SIGNATURE_BYTES];
        let len = URL_SAFE_NO_PAD
            .decode_slice(self.signature, &mut signature)
            .map_err(|_| Reason::BadSignature)?;
        // The key was parsed once, at load, by aws-lc-rs (the backend of
        // jsonwebtoken's `aws_lc_rs` feature). jsonwebtoken's process-wide
        // provider is never used: no panic when both of its backends are
        // compiled in, no dependence on what another crate installed, and no
        // key re-parse per verification (which costs RS256 about a fifth).
        key.key
            .verify_sig(self.signing_input.as_bytes(), &signature[..len])
            .map_err(|_| Reason::BadSignature)
    }

    /// Decodes the payload. Before [`Jws::verify`] succeeded, its content
    /// may only route the token to its issuer; nothing else is trusted.
    pub(crate) fn payload(&self) -> Result<Map<String, Value>, Reason> {
        decode_segment(self.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::TypPolicy;

    #[test]
    fn lenient_typ_is_the_default() {
        assert_eq!(TypPolicy::default(), TypPolicy::Lenient);
    }
}
