//! A DPoP proof (RFC 9449 §4): a compact JWS whose header carries the
//! public key that signed it, checked as §4.3 says.
//!
//! The checks, in order: size; three base64url segments; a strict JSON
//! header (no duplicate members, no `crit`, `zip`, `cty`, `b64` or JWE
//! parameter); `typ` `dpop+jwt`; an allowed asymmetric `alg` (`Ed25519` is
//! read as `EdDSA`); a public `jwk` (no private members) that is a usable key
//! for that `alg`; the signature; then the strict JSON payload: `jti`, `htm`,
//! `htu`, `iat` within the window, `ath` (and `nonce` when asked for).

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::htu;
use super::thumbprint::thumbprint;
use crate::error::Reason;
use crate::jwks::key::{algorithm_from_name, parse_anonymous_jwk};
use crate::token::jws::{REJECTED_HEADER_PARAMS, decode_segment};

/// Largest proof accepted, in bytes (an RSA 8192 key and signature fit).
pub(crate) const MAX_PROOF_LEN: usize = 8 * 1024;

/// Longest `jti` accepted, in bytes.
const MAX_JTI_LEN: usize = 256;

/// Members that make a JWK private (RFC 7517, RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What the request says a proof must match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The request method (`htm`).
    pub(crate) method: &'a str,
    /// The request's normalised public URI (`htu`), see [`htu::expected`].
    pub(crate) uri: &'a str,
    /// The access token the proof must name (`ath`).
    pub(crate) token: &'a [u8],
    /// Now, in seconds since the epoch.
    pub(crate) now: f64,
    /// How old a proof may be, in seconds.
    pub(crate) window: f64,
    /// Clock skew allowed on `iat` in the future, in seconds.
    pub(crate) leeway: f64,
}

/// A proof that passed every check of its own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint of the proof's key, base64url.
    pub(crate) jkt: String,
    /// The proof's unique id.
    pub(crate) jti: String,
    /// When the proof was made, in seconds since the epoch.
    pub(crate) iat: f64,
    /// The server nonce it carries, if any.
    pub(crate) nonce: Option<String>,
    /// The algorithm it was signed with.
    pub(crate) alg: Algorithm,
}

/// Checks a proof against the request; never panics on any input.
pub(crate) fn verify(proof: &[u8], expected: &Expected<'_>) -> Result<Proof, Reason> {
    let (header, payload, signing_input, signature) = split(proof)?;
    let (alg, jkt, key) = check_header(&header)?;
    check_signature(&key, alg, signing_input, signature)?;
    // The payload is read only once the signature verified.
    let payload = decode_segment(payload).map_err(|_| Reason::DpopMalformedProof)?;
    check_payload(&payload, expected, alg, jkt)
}

/// The header and payload of a proof, its signing input and signature.
type Parts<'p> = (Map<String, Value>, &'p str, &'p [u8], &'p str);

fn split(proof: &[u8]) -> Result<Parts<'_>, Reason> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(Reason::DpopMalformedProof);
    }
    let proof = std::str::from_utf8(proof).map_err(|_| Reason::DpopMalformedProof)?;
    let mut parts = proof.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::DpopMalformedProof);
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(Reason::DpopMalformedProof);
    }
    let header_map = decode_segment(header).map_err(|_| Reason::DpopMalformedProof)?;
    let signing_input = &proof.as_bytes()[..header.len() + 1 + payload.len()];
    Ok((header_map, payload, signing_input, signature))
}

/// The header: parameters, `typ`, `alg`, `jwk`. Returns the algorithm, the
/// key's thumbprint and the key.
pub(crate) fn check_header(
    header: &Map<String, Value>,
) -> Result<(Algorithm, String, crate::jwks::VerifyingKey), Reason> {
    if REJECTED_HEADER_PARAMS
        .iter()
        .any(|p| header.contains_key(*p))
    {
        return Err(Reason::DpopWrongType);
    }
    match header.get("typ") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(Reason::DpopWrongType),
    }
    let alg = match header.get("alg") {
        // RFC 9864 names the Ed25519 signature algorithm fully.
        Some(Value::String(name)) if name == "Ed25519" => Algorithm::EdDSA,
        Some(Value::String(name)) => {
            algorithm_from_name(name).ok_or(Reason::DpopUnsupportedAlgorithm)?
        }
        _ => return Err(Reason::DpopUnsupportedAlgorithm),
    };
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(Reason::DpopBadKey);
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(Reason::DpopBadKey);
    }
    // The key is pinned to the header's algorithm: a key that declares
    // another one (or whose type or curve implies another) is refused.
    let mut pinned = jwk.clone();
    match pinned.get("alg") {
        None => {
            pinned.insert("alg".into(), Value::from(alg_name(alg)));
        }
        Some(Value::String(declared)) if declared == "Ed25519" => {
            pinned.insert("alg".into(), Value::from("EdDSA"));
        }
        Some(_) => {}
    }
    let key = parse_anonymous_jwk(&Value::Object(pinned)).map_err(|_| Reason::DpopBadKey)?;
    if key.algorithm != alg {
        return Err(Reason::DpopBadKey);
    }
    let jkt = thumbprint(jwk).ok_or(Reason::DpopBadKey)?;
    Ok((alg, jkt, key))
}

/// The JOSE name of a supported algorithm.
pub(crate) const fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "RS256",
    }
}

fn check_signature(
    key: &crate::jwks::VerifyingKey,
    alg: Algorithm,
    signing_input: &[u8],
    signature: &str,
) -> Result<(), Reason> {
    if key.algorithm != alg {
        return Err(Reason::DpopBadKey);
    }
    let mut bytes = [0u8; 1024];
    let len = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut bytes)
        .map_err(|_| Reason::DpopBadSignature)?;
    key.key
        .verify_sig(signing_input, &bytes[..len])
        .map_err(|_| Reason::DpopBadSignature)
}

fn string<'m>(payload: &'m Map<String, Value>, name: &str) -> Result<&'m str, Reason> {
    match payload.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(Reason::DpopClaim),
    }
}

fn check_payload(
    payload: &Map<String, Value>,
    expected: &Expected<'_>,
    alg: Algorithm,
    jkt: String,
) -> Result<Proof, Reason> {
    let jti = string(payload, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(Reason::DpopClaim);
    }
    let htm = string(payload, "htm")?;
    let htu = string(payload, "htu")?;
    let iat = payload
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or(Reason::DpopClaim)?;
    let ath = string(payload, "ath")?;
    let nonce = match payload.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(Reason::DpopClaim),
    };
    // Methods are case-sensitive (RFC 9110 §9.1).
    if htm != expected.method {
        return Err(Reason::DpopMethodMismatch);
    }
    match htu::normalise(htu) {
        Some(uri) if uri == expected.uri => {}
        _ => return Err(Reason::DpopUriMismatch),
    }
    if !(iat >= expected.now - expected.window && iat <= expected.now + expected.leeway) {
        return Err(Reason::DpopStale);
    }
    let want = URL_SAFE_NO_PAD.encode(digest(&SHA256, expected.token));
    if aws_lc_rs::constant_time::verify_slices_are_equal(want.as_bytes(), ath.as_bytes()).is_err() {
        return Err(Reason::DpopTokenHashMismatch);
    }
    Ok(Proof {
        jkt,
        jti: jti.to_owned(),
        iat,
        nonce,
        alg,
    })
}

/// A proof whose header, key and signature passed, not yet compared with
/// any request.
#[derive(Debug)]
#[cfg_attr(not(feature = "cli"), allow(dead_code))] // `inspect` reads them
pub(crate) struct Unbound {
    /// The proof's header.
    pub(crate) header: Map<String, Value>,
    /// The proof's claims.
    pub(crate) payload: Map<String, Value>,
    /// The RFC 7638 thumbprint of its key.
    pub(crate) jkt: String,
}

/// Parses a proof's header and checks its signature only (no request to
/// compare with): for `inspect` and the fuzz target.
pub(crate) fn parse_unbound(proof: &[u8]) -> Result<Unbound, Reason> {
    let (header, payload, signing_input, signature) = split(proof)?;
    let (alg, jkt, key) = check_header(&header)?;
    check_signature(&key, alg, signing_input, signature)?;
    let payload = decode_segment(payload).map_err(|_| Reason::DpopMalformedProof)?;
    Ok(Unbound {
        header,
        payload,
        jkt,
    })
}
