//! [`Builder::trust`]: the issuers a layer trusts, as [`Issuer`] values.

use super::builder::Builder;
use crate::issuer::Issuer;

impl Builder {
    /// Trusts this issuer; call once per issuer. The token's `iss` picks
    /// exactly one issuer before any key is looked up, and each issuer has
    /// its own key set, refresh schedule and outage state.
    ///
    /// The single-issuer settings ([`Builder::issuer`], [`Builder::audience`],
    /// the key source and the tenant lists) are the one-issuer shorthand:
    /// mixing them with `trust` is a [`ConfigError::Conflict`](crate::ConfigError::Conflict).
    /// The layer's [`leeway`](Builder::leeway),
    /// [`strict_rfc9068`](Builder::strict_rfc9068) and refresh timing are the
    /// defaults of every issuer that sets none of its own.
    pub fn trust(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }
}
