//! One JSON Web Key (RFC 7517): parsing, hygiene, and the algorithm it is
//! pinned to.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

/// The algorithms the crate verifies. HMAC and `none` are never among them.
pub const SUPPORTED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The header `alg` for a supported algorithm, compared case-sensitively.
pub(crate) fn algorithm_from_name(name: &str) -> Option<Algorithm> {
    match name {
        "RS256" => Some(Algorithm::RS256),
        "PS256" => Some(Algorithm::PS256),
        "ES256" => Some(Algorithm::ES256),
        "ES384" => Some(Algorithm::ES384),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// A public key ready to verify signatures with exactly one algorithm.
///
/// The key is parsed once, when the key set is loaded (aws-lc-rs, the backend
/// jsonwebtoken's `aws_lc_rs` feature uses), not at every verification.
pub struct VerifyingKey {
    pub(crate) kid: Box<str>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: ParsedPublicKey,
    /// The public key bytes, to recognise the same key across refreshes.
    material: Box<[u8]>,
    /// The JWK's own `issuer` member (Entra publishes one per key): when
    /// present, the key verifies only tokens of the tenant it names.
    pub(crate) issuer: Option<Box<str>>,
}

impl VerifyingKey {
    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A key from one JWK (JSON), after the same hygiene checks as a fetched
    /// key set; `None` when the key is unusable.
    #[must_use]
    pub fn from_jwk(jwk: &serde_json::Value) -> Option<Self> {
        parse_jwk(jwk).ok()
    }

    /// The JWK's `issuer` member, when it has one (Entra: the issuer, or
    /// the `{tenantid}` template, whose tokens the key signs).
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Whether `other` is the same key: same `kid`, algorithm, public key
    /// and `issuer` member.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        self.kid == other.kid
            && self.algorithm == other.algorithm
            && self.material == other.material
            && self.issuer == other.issuer
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Why a JWK was skipped. Logged as a warning; never fatal for the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    NotAnObject,
    NoKid,
    Symmetric,
    UnknownKeyType,
    NotForSignatures,
    PrivateKey,
    BadIssuer,
    UnsupportedAlgorithm,
    CurveMismatch,
    WeakRsaKey,
    BadKeyMaterial,
}

impl Skip {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::NoKid => "no_kid",
            Self::Symmetric => "symmetric_key",
            Self::UnknownKeyType => "unknown_key_type",
            Self::NotForSignatures => "not_for_signatures",
            Self::PrivateKey => "private_key",
            Self::BadIssuer => "bad_issuer",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::CurveMismatch => "curve_mismatch",
            Self::WeakRsaKey => "weak_rsa_key",
            Self::BadKeyMaterial => "bad_key_material",
        }
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    /// Entra's per-key issuer; any other JSON type is an error.
    issuer: Option<serde_json::Value>,
    // Private members: their presence disqualifies the key.
    d: Option<serde::de::IgnoredAny>,
    p: Option<serde::de::IgnoredAny>,
    q: Option<serde::de::IgnoredAny>,
    dp: Option<serde::de::IgnoredAny>,
    dq: Option<serde::de::IgnoredAny>,
    qi: Option<serde::de::IgnoredAny>,
    oth: Option<serde::de::IgnoredAny>,
    k: Option<serde::de::IgnoredAny>,
}

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (bounds verification cost).
const MAX_RSA_BITS: usize = 8192;

/// Turns one JWK (as JSON) into a [`VerifyingKey`], or says why it is unusable.
pub(crate) fn parse_jwk(value: &serde_json::Value) -> Result<VerifyingKey, Skip> {
    parse_key(value, true)
}

/// The same checks as [`parse_jwk`] for a key that needs no `kid` (the
/// public key in a DPoP proof's header); its `kid`, when absent, is empty.
pub(crate) fn parse_anonymous_jwk(value: &serde_json::Value) -> Result<VerifyingKey, Skip> {
    parse_key(value, false)
}

fn parse_key(value: &serde_json::Value, require_kid: bool) -> Result<VerifyingKey, Skip> {
    if !value.is_object() {
        return Err(Skip::NotAnObject);
    }
    let jwk = RawJwk::deserialize(value).map_err(|_| Skip::BadKeyMaterial)?;
    let kid = match jwk.kid.as_deref() {
        Some(kid) => kid,
        None if require_kid => return Err(Skip::NoKid),
        None => "",
    };
    if jwk.kty == "oct" || jwk.k.is_some() {
        return Err(Skip::Symmetric);
    }
    if jwk.d.is_some()
        || jwk.p.is_some()
        || jwk.q.is_some()
        || jwk.dp.is_some()
        || jwk.dq.is_some()
        || jwk.qi.is_some()
        || jwk.oth.is_some()
    {
        return Err(Skip::PrivateKey);
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(Skip::NotForSignatures);
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Err(Skip::NotForSignatures);
    }
    let issuer = match jwk.issuer {
        None => None,
        Some(serde_json::Value::String(iss)) if !iss.is_empty() && iss.len() <= 512 => {
            Some(iss.into_boxed_str())
        }
        Some(_) => return Err(Skip::BadIssuer),
    };
    let declared = match jwk.alg.as_deref() {
        Some(name) => Some(algorithm_from_name(name).ok_or(Skip::UnsupportedAlgorithm)?),
        None => None,
    };
    let (algorithm, key, material) = match jwk.kty.as_str() {
        "RSA" => {
            let algorithm = declared.unwrap_or(Algorithm::RS256);
            if !matches!(algorithm, Algorithm::RS256 | Algorithm::PS256) {
                return Err(Skip::UnsupportedAlgorithm);
            }
            let n = decode(jwk.n.as_deref())?;
            let e = decode(jwk.e.as_deref())?;
            let n = strip_leading_zeros(&n);
            // An empty or all-zero modulus has no bits (and must not underflow).
            let bits = n
                .first()
                .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(Skip::WeakRsaKey);
            }
            if bits > MAX_RSA_BITS || e.is_empty() || e.len() > 4 {
                return Err(Skip::BadKeyMaterial);
            }
            let params = if algorithm == Algorithm::PS256 {
                &RSA_PSS_2048_8192_SHA256
            } else {
                &RSA_PKCS1_2048_8192_SHA256
            };
            let parsed = RsaPublicKeyComponents { n, e: e.as_slice() }
                .to_parsed_public_key(params)
                .map_err(|_| Skip::BadKeyMaterial)?;
            let mut material = n.to_vec();
            material.extend_from_slice(&e);
            (algorithm, parsed, material)
        }
        "EC" => {
            let (implied, coord_len) = match jwk.crv.as_deref() {
                Some("P-256") => (Algorithm::ES256, 32),
                Some("P-384") => (Algorithm::ES384, 48),
                _ => return Err(Skip::UnsupportedAlgorithm),
            };
            let algorithm = declared.unwrap_or(implied);
            if algorithm != implied {
                return Err(Skip::CurveMismatch);
            }
            let x = decode(jwk.x.as_deref())?;
            let y = decode(jwk.y.as_deref())?;
            if x.len() != coord_len || y.len() != coord_len {
                return Err(Skip::BadKeyMaterial);
            }
            let mut point = Vec::with_capacity(1 + 2 * coord_len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let curve = if algorithm == Algorithm::ES256 {
                &ECDSA_P256_SHA256_FIXED
            } else {
                &ECDSA_P384_SHA384_FIXED
            };
            // Rejects points that are not on the curve, at load time.
            let parsed = ParsedPublicKey::new(curve, &point).map_err(|_| Skip::BadKeyMaterial)?;
            (algorithm, parsed, point)
        }
        "OKP" => {
            if jwk.crv.as_deref() != Some("Ed25519") {
                return Err(Skip::UnsupportedAlgorithm);
            }
            let algorithm = declared.unwrap_or(Algorithm::EdDSA);
            if algorithm != Algorithm::EdDSA {
                return Err(Skip::CurveMismatch);
            }
            let x = decode(jwk.x.as_deref())?;
            if x.len() != 32 {
                return Err(Skip::BadKeyMaterial);
            }
            let parsed = ParsedPublicKey::new(&ED25519, &x).map_err(|_| Skip::BadKeyMaterial)?;
            (algorithm, parsed, x)
        }
        _ => return Err(Skip::UnknownKeyType),
    };
    Ok(VerifyingKey {
        kid: kid.into(),
        algorithm,
        key,
        material: material.into_boxed_slice(),
        issuer,
    })
}

fn decode(field: Option<&str>) -> Result<Vec<u8>, Skip> {
    let field = field.ok_or(Skip::BadKeyMaterial)?;
    URL_SAFE_NO_PAD
        .decode(field)
        .map_err(|_| Skip::BadKeyMaterial)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
