//! A JWK Set (RFC 7517 §5): the usable keys of one document, by `kid`.

use std::collections::HashMap;

/// `kid` lookups hash a short string per request: a fast hasher.
type Map = HashMap<Box<str>, Arc<VerifyingKey>, foldhash::fast::RandomState>;
use std::sync::Arc;

use super::key::{VerifyingKey, parse_jwk};
use crate::log::Escaped;

/// Usable keys by `kid`. Immutable once built; swapped whole on refresh.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Map,
}

/// Why a whole JWK Set document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetError {
    /// Not JSON, or not an object with a `keys` array.
    Malformed,
}

/// Keys in one set beyond which the rest are ignored (bounds memory and work).
const MAX_KEYS: usize = 256;

impl KeySet {
    /// Parses a JWK Set document. Unusable keys are skipped with a warning; a
    /// `kid` that two usable keys share is dropped as ambiguous.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, SetError> {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| SetError::Malformed)?;
        let keys = doc
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or(SetError::Malformed)?;
        Ok(Self::from_jwks(keys))
    }

    fn from_jwks(jwks: &[serde_json::Value]) -> Self {
        let mut keys = Map::default();
        let mut ambiguous: Vec<Box<str>> = Vec::new();
        if jwks.len() > MAX_KEYS {
            tracing::warn!(target: "tower_mfa::jwks", count = jwks.len(), max = MAX_KEYS, "key set too large, ignoring the keys past the limit");
        }
        for (index, jwk) in jwks.iter().take(MAX_KEYS).enumerate() {
            match parse_jwk(jwk) {
                Ok(key) => {
                    if ambiguous.contains(&key.kid) {
                        continue;
                    }
                    if keys.remove(&key.kid).is_some() {
                        tracing::warn!(target: "tower_mfa::jwks", kid = %Escaped(&key.kid), "two keys share one kid; dropping both as ambiguous");
                        ambiguous.push(key.kid);
                        continue;
                    }
                    keys.insert(key.kid.clone(), Arc::new(key));
                }
                Err(skip) => {
                    let kid = jwk
                        .get("kid")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    tracing::warn!(target: "tower_mfa::jwks", index, kid = %Escaped(kid), reason = skip.as_str(), "skipping unusable key");
                }
            }
        }
        Self { keys }
    }

    /// Keeps the previous `Arc` of every key that did not change, so entries
    /// of the verified-token cache stay valid across refreshes.
    pub(crate) fn reuse(mut self, previous: &Self) -> Self {
        for (kid, key) in &mut self.keys {
            if let Some(old) = previous.keys.get(kid)
                && old.same_as(key)
            {
                *key = Arc::clone(old);
            }
        }
        self
    }

    /// Builds a set from keys made in code (tests, air-gapped setups).
    #[must_use]
    pub fn from_keys(list: impl IntoIterator<Item = VerifyingKey>) -> Self {
        let mut keys = Map::default();
        for key in list {
            keys.insert(key.kid.clone(), Arc::new(key));
        }
        Self { keys }
    }

    /// The key with this `kid`.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.keys.get(kid)
    }

    /// How many usable keys the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(|k| &**k)
    }
}
