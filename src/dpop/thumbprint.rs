//! The RFC 7638 JWK thumbprint: base64url(SHA-256) of the key's required
//! members, in lexicographic order, without whitespace.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The thumbprint of a public JWK, base64url-encoded (the form of `cnf.jkt`);
/// `None` when a required member is missing or not a string, or the key
/// type is not `RSA`, `EC` or `OKP`.
pub(crate) fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let kty = jwk.get("kty")?.as_str()?;
    let members: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::with_capacity(512);
    canonical.push('{');
    for (i, name) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = jwk.get(*name)?.as_str()?;
        // Names and values as JSON strings (serde_json escapes exactly what
        // JSON requires; base64url and curve names need no escaping).
        canonical.push_str(&Value::from(*name).to_string());
        canonical.push(':');
        canonical.push_str(&Value::from(value).to_string());
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn rfc7638_example_rsa_key() {
        // RFC 7638 §3.1: the example key and its thumbprint.
        let jwk = map(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn optional_members_do_not_change_it_and_faults_give_none() {
        let a = map(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"}));
        let b = map(serde_json::json!({"x": "abc", "kid": "k", "crv": "Ed25519", "kty": "OKP"}));
        assert_eq!(thumbprint(&a), thumbprint(&b));
        assert!(thumbprint(&a).is_some());
        assert_eq!(
            thumbprint(&map(serde_json::json!({"kty": "OKP", "crv": "Ed25519"}))),
            None
        );
        assert_eq!(
            thumbprint(&map(serde_json::json!({"kty": "oct", "k": "abc"}))),
            None
        );
        assert_eq!(
            thumbprint(&map(
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": 1, "y": "a"})
            )),
            None
        );
    }
}
