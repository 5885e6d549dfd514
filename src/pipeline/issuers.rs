//! The trusted issuers of a layer, each with its own key store, and the
//! routing of a token to exactly one of them by its `iss`.

use std::sync::Arc;

use super::settings::{IssuerSettings, KeySettings};
use crate::claims::{IssShape, Payload};
use crate::clock::Clock;
use crate::error::Reason;
use crate::jwks::store::KeyStore;
use crate::token::jws::TypPolicy;
use crate::token::validate::Validation;

/// One trusted issuer: its claim checks and its own key store.
pub(crate) struct Trusted {
    /// The configured short name (logs, metrics, `inspect`).
    pub(crate) name: Arc<str>,
    pub(crate) validation: Validation,
    pub(crate) typ: TypPolicy,
    pub(crate) keys: KeyStore,
}

impl Trusted {
    /// One issuer's checks and key store (nothing is fetched yet).
    pub(crate) fn new(
        s: IssuerSettings,
        keys: &KeySettings,
        max_lifetime: f64,
        clock: &Arc<dyn Clock>,
    ) -> Self {
        let store = KeyStore::new(
            Arc::clone(&s.name),
            s.source,
            s.static_keys,
            s.issuer.exact().map(str::to_owned),
            keys.client.clone(),
            keys.fetch.clone(),
            s.refresh,
            Arc::clone(clock),
        );
        Self {
            name: s.name,
            validation: Validation {
                issuer: s.issuer,
                audiences: s.audiences,
                leeway: s.leeway.as_secs_f64(),
                max_lifetime,
                tenants: s.tenants,
            },
            typ: s.typ,
            keys: store,
        }
    }
}

/// The index of the one issuer whose `iss` the (not yet verified) payload
/// names. Only routing: the signature and every claim are checked after.
/// Build-time checks guarantee that at most one issuer matches.
pub(crate) fn route(issuers: &[Trusted], payload: &Payload) -> Result<usize, Reason> {
    let iss = match (payload.iss, payload.issuer()) {
        (IssShape::Text, Some(iss)) => iss,
        (IssShape::Other, _) => return Err(Reason::ClaimType),
        _ => return Err(Reason::WrongIssuer),
    };
    issuers
        .iter()
        .position(|t| t.validation.issuer.matches(iss))
        .ok_or(Reason::WrongIssuer)
}
