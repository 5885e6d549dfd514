//! The compact JWS (RFC 7515 §7.1): three base64url segments, a strict header,
//! and the signature check pinned to the key's one algorithm.
//!
//! The payload is decoded only after the signature verified.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::header::{read_header, text};
use super::json::parse_object;
use crate::claims::Payload;
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
    pub(crate) token: &'t [u8],
    pub(crate) alg: Algorithm,
    pub(crate) kid: Box<str>,
    /// Whether `typ` also passes the RFC 9068 strict mode (for issuers that
    /// ask for it: the issuer is known only once the payload is routed).
    pub(crate) rfc9068_typ: bool,
    signing_input: &'t [u8],
    payload: &'t [u8],
    signature: &'t [u8],
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
/// Works on bytes: a bearer token is ASCII (the caller checked its grammar),
/// so it is never validated as UTF-8 on the hot path.
pub(crate) fn parse(token: &[u8], max_len: usize, typ: TypPolicy) -> Result<Jws<'_>, Reason> {
    if token.len() > max_len {
        return Err(Reason::TokenTooLarge);
    }
    // Exactly two dots (found with SIMD: a token is about a kilobyte).
    let mut dots = memchr::memchr_iter(b'.', token);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(Reason::MalformedToken);
    };
    let (header, payload, signature) = (
        &token[..first],
        &token[first + 1..second],
        &token[second + 1..],
    );
    if header.is_empty()
        || payload.is_empty()
        || signature.is_empty()
        || signature.len() > MAX_SIGNATURE_LEN
    {
        return Err(Reason::MalformedToken);
    }
    // Decoded on the stack when short (headers are tens of bytes).
    let mut stack = [0u8; SHORT_HEADER_BYTES];
    let heap;
    let json = if header.len() <= SHORT_HEADER_LEN {
        let len = URL_SAFE_NO_PAD
            .decode_slice(header, &mut stack)
            .map_err(|_| Reason::MalformedToken)?;
        &stack[..len]
    } else {
        heap = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| Reason::MalformedToken)?;
        &heap[..]
    };
    let fields = read_header(json)?;
    if fields.rejected {
        return Err(Reason::UnsupportedHeader);
    }
    let alg = alg_named(text(fields.alg.as_ref()))?;
    let typ_value = fields.typ.as_ref().map(|t| text(Some(t)));
    typ_accepted(typ_value, typ)?;
    // `jku`, `x5u`, `jwk` and `x5c` are ignored: never fetched, never trusted.
    let kid = kid_named(text(fields.kid.as_ref()))?;
    let rfc9068_typ = typ_accepted(typ_value, TypPolicy::Rfc9068).is_ok();
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
pub(crate) fn decode_segment(segment: impl AsRef<[u8]>) -> Result<Map<String, Value>, Reason> {
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

/// Base64url characters of a header decoded on the stack.
const SHORT_HEADER_LEN: usize = 512;
/// The bytes they decode to.
const SHORT_HEADER_BYTES: usize = SHORT_HEADER_LEN / 4 * 3;

// The header checks one by one, in the order `parse` applies them (`inspect`
// reports each of them from a JSON map).

/// No `crit`, `zip`, `cty`, `b64` or JWE parameter.
#[cfg(feature = "cli")]
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
#[cfg(feature = "cli")]
pub(crate) fn check_alg(header: &Map<String, Value>) -> Result<Algorithm, Reason> {
    alg_named(header.get("alg").and_then(Value::as_str))
}

fn alg_named(alg: Option<&str>) -> Result<Algorithm, Reason> {
    alg.and_then(algorithm_from_name)
        .ok_or(Reason::UnsupportedAlgorithm)
}

/// `typ` is absent or accepted by `typ`.
#[cfg(feature = "cli")]
pub(crate) fn check_typ(header: &Map<String, Value>, typ: TypPolicy) -> Result<(), Reason> {
    typ_accepted(header.get("typ").map(Value::as_str), typ)
}

/// `typ`: `None` when absent, `Some(None)` when not a string.
fn typ_accepted(typ: Option<Option<&str>>, policy: TypPolicy) -> Result<(), Reason> {
    match (typ, policy) {
        (None, TypPolicy::Lenient) => Ok(()),
        (Some(Some(t)), policy) => {
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
#[cfg(feature = "cli")]
pub(crate) fn check_kid(header: &Map<String, Value>) -> Result<Box<str>, Reason> {
    kid_named(header.get("kid").and_then(Value::as_str))
}

fn kid_named(kid: Option<&str>) -> Result<Box<str>, Reason> {
    match kid {
        Some(kid) if !kid.is_empty() => Ok(kid.into()),
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
            .verify_sig(self.signing_input, &signature[..len])
            .map_err(|_| Reason::BadSignature)
    }

    /// Decodes the payload as a JSON map (inspect).
    #[cfg(feature = "cli")]
    pub(crate) fn payload(&self) -> Result<Map<String, Value>, Reason> {
        decode_segment(self.payload)
    }

    /// Decodes and parses the payload in one pass. Before [`Jws::verify`]
    /// succeeded, its content may only route the token to its issuer;
    /// nothing else is trusted.
    pub(crate) fn parse_payload(&self) -> Result<Payload, Reason> {
        let json = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| Reason::MalformedToken)?;
        Payload::parse(json)
    }
}

#[cfg(test)]
mod tests {
    use super::TypPolicy;

    /// The one-pass header read gives the same verdict as the checks on a
    /// JSON map that `inspect` reports one by one.
    #[cfg(feature = "cli")]
    mod header_agreement {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use proptest::prelude::*;

        use super::super::*;

        fn header_text() -> impl Strategy<Value = String> {
            let name = prop::sample::select(vec![
                "alg",
                "kid",
                "typ",
                "crit",
                "zip",
                "jwk",
                "x5c",
                "enc",
                r"\u0061lg",
                "b64",
            ]);
            let value = prop::sample::select(vec![
                r#""RS256""#,
                r#""ES256""#,
                r#""none""#,
                r#""HS256""#,
                r#""rs256""#,
                r#""k1""#,
                r#""""#,
                r#""JWT""#,
                r#""at+jwt""#,
                r#""application/at+jwt""#,
                r#""jwt""#,
                "1",
                "null",
                "true",
                "[]",
                r#"{"a":1}"#,
                r#"{"a":1,"a":2}"#,
                r#"["x",{"b":0,"b":0}]"#,
            ]);
            prop::collection::vec((name, value), 0..6).prop_map(|members| {
                let members: Vec<String> = members
                    .iter()
                    .map(|(n, v)| format!(r#""{n}":{v}"#))
                    .collect();
                format!("{{{}}}", members.join(","))
            })
        }

        fn old_checks(
            header: &[u8],
            typ: TypPolicy,
        ) -> Result<(Algorithm, Box<str>, bool), Reason> {
            let map = decode_segment(header)?;
            check_params(&map)?;
            let alg = check_alg(&map)?;
            check_typ(&map, typ)?;
            let kid = check_kid(&map)?;
            Ok((alg, kid, check_typ(&map, TypPolicy::Rfc9068).is_ok()))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

            #[test]
            fn one_pass_header_agrees_with_the_map_checks(
                text in header_text(),
                strict in any::<bool>(),
                tail in prop::sample::select(vec!["", " ", "x", "]"]),
            ) {
                let text = format!("{text}{tail}");
                let header = URL_SAFE_NO_PAD.encode(&text);
                let token = format!("{header}.e30.c2ln");
                let typ = if strict { TypPolicy::Rfc9068 } else { TypPolicy::Lenient };
                let new = parse(token.as_bytes(), 16 * 1024, typ)
                    .map(|jws| (jws.alg, jws.kid, jws.rfc9068_typ));
                prop_assert_eq!(new, old_checks(header.as_bytes(), typ), "{}", text);
            }
        }
    }

    #[test]
    fn lenient_typ_is_the_default() {
        assert_eq!(TypPolicy::default(), TypPolicy::Lenient);
    }
}
