//! A handler's own claim type, read from the verified claims once per request.
//!
//! The axum extractor `VerifiedClaims<T>` and the tonic accessor
//! `RequestClaimsExt::verified_claims` share this: the first read
//! deserializes the verified payload into `T` and keeps the result in the
//! request's extensions, later reads of the same type clone an `Arc`.

use std::any::type_name;
use std::sync::Arc;

use http::Extensions;
use serde::de::DeserializeOwned;

use crate::pipeline::Decision;

/// `T` as read from this request's claims, kept in its extensions.
struct Typed<T>(Arc<T>);

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// Why a handler's claim type could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypedError {
    /// The request carries no verified token.
    Missing,
    /// The verified payload does not fit the type: the token lacks a claim
    /// the API needs, or carries one with another JSON type.
    DoesNotFit,
}

/// The request's claims as `T`, deserialized at most once per request and
/// type (a failure is not cached: it ends the request).
pub(crate) fn typed<T>(extensions: &mut Extensions) -> Result<Arc<T>, TypedError>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    if let Some(Typed(value)) = extensions.get::<Typed<T>>() {
        return Ok(Arc::clone(value));
    }
    let claims = extensions
        .get::<Decision>()
        .map(Decision::claims)
        .ok_or(TypedError::Missing)?;
    match claims.deserialize::<T>() {
        Ok(value) => {
            let value = Arc::new(value);
            extensions.insert(Typed(Arc::clone(&value)));
            Ok(value)
        }
        Err(error) => {
            // serde's message may quote claim values: log its category only.
            tracing::info!(
                target: "tower_mfa::decision",
                claims_type = type_name::<T>(),
                category = ?error.classify(),
                "the verified claims do not fit the handler's claim type"
            );
            Err(TypedError::DoesNotFit)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde::{Deserialize, Deserializer};
    use serde_json::json;

    use super::*;
    use crate::claims::Claims;

    static READS: AtomicUsize = AtomicUsize::new(0);

    /// Counts how often it is deserialized.
    struct Counted(String);

    impl<'de> Deserialize<'de> for Counted {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            struct Raw {
                sub: String,
            }
            READS.fetch_add(1, Ordering::SeqCst);
            Raw::deserialize(d).map(|raw| Self(raw.sub))
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct NeedsTenant {
        customer: String,
    }

    fn with_claims(payload: serde_json::Value) -> Extensions {
        let mut extensions = Extensions::new();
        let map = match payload {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        extensions.insert(Decision::for_claims(Claims::from_payload(map).unwrap()));
        extensions
    }

    #[test]
    fn deserializes_once_per_request() {
        let mut extensions = with_claims(json!({"sub": "alice"}));
        let first = typed::<Counted>(&mut extensions).unwrap();
        let second = typed::<Counted>(&mut extensions).unwrap();
        assert_eq!(first.0, "alice");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(READS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_payload_that_does_not_fit_is_refused() {
        let mut extensions = with_claims(json!({"sub": "alice"}));
        assert_eq!(
            typed::<NeedsTenant>(&mut extensions).unwrap_err(),
            TypedError::DoesNotFit
        );
        let mut extensions = with_claims(json!({"customer": 7}));
        assert_eq!(
            typed::<NeedsTenant>(&mut extensions).unwrap_err(),
            TypedError::DoesNotFit
        );
    }

    #[test]
    fn no_claims_is_missing() {
        assert_eq!(
            typed::<NeedsTenant>(&mut Extensions::new()).unwrap_err(),
            TypedError::Missing
        );
    }
}
