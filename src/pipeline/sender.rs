//! Step 3b of the pipeline: how the token was sent. A certificate-bound
//! token (`cnf.x5t#S256`) needs the client certificate it names, and an
//! `mtls_required` rule refuses unbound tokens. A DPoP-bound token
//! (`cnf.jkt`) must come with the `DPoP` scheme and a valid proof of its
//! key; a `DPoP` rule refuses plain bearer tokens. Runs on every request,
//! after a fresh verification and a token-cache hit alike (cache entries
//! keep the whole payload, `cnf` included).

use std::time::SystemTime;

use http::Request;

use super::{Pipeline, Verdict};
use crate::claims::Claims;
use crate::dpop::{Sender, bound_key};
use crate::error::Reason;
use crate::mtls::{self, ClientCertificate};
use crate::original_path::OriginalPath;
use crate::policy::route::Rule;
use crate::time::unix_seconds;

/// The `Authorization` scheme a token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Bearer` (or a cookie or custom token source).
    Bearer,
    /// `DPoP`, with a proof in the `DPoP` header.
    Dpop,
}

impl Pipeline {
    /// Steps 3b and 4: the sender check, then [`Pipeline::authorize`].
    /// Report-only rules let a bearer token through where DPoP is required
    /// (reported), never a wrong, replayed or downgraded proof.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn admit<B>(
        &self,
        rule: &Rule,
        scheme: Scheme,
        token: &[u8],
        claims: Claims,
        issuer: usize,
        req: &Request<B>,
        now: SystemTime,
    ) -> Verdict {
        match self.check_sender(rule, scheme, token, &claims, issuer, req, now) {
            Ok(()) => self.authorize(rule, claims, issuer, now),
            Err(reason @ (Reason::DpopRequired | Reason::MtlsRequired))
                if rule.reports_only(now) =>
            {
                match self.authorize(rule, claims, issuer, now) {
                    Verdict::Allow(Some((claims, mut decision))) => {
                        decision.reported.get_or_insert(reason);
                        Verdict::Allow(Some((claims, decision)))
                    }
                    other => other,
                }
            }
            Err(reason) => Verdict::Deny(reason, Some(claims)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_sender<B>(
        &self,
        rule: &Rule,
        scheme: Scheme,
        token: &[u8],
        claims: &Claims,
        issuer: usize,
        req: &Request<B>,
        now: SystemTime,
    ) -> Result<(), Reason> {
        // The certificate binding first: under every sender, for both
        // schemes, on fresh verifications and cache hits alike.
        mtls::check(
            claims,
            req.extensions().get::<ClientCertificate>(),
            rule.sender,
        )?;
        match scheme {
            Scheme::Bearer => {
                if bound_key(claims)?.is_some() {
                    return Err(Reason::DpopBoundAsBearer);
                }
                if rule.sender == Sender::DpopRequired {
                    return Err(Reason::DpopRequired);
                }
                Ok(())
            }
            Scheme::Dpop => {
                // `extract` answers `Dpop` only when DPoP is configured.
                let dpop = self.dpop.as_ref().ok_or(Reason::OtherScheme)?;
                dpop.check(
                    req.method(),
                    OriginalPath::path_of(req),
                    req.headers(),
                    token,
                    claims,
                    unix_seconds(now),
                    // The leeway of the issuer that verified the token.
                    self.issuers
                        .get(issuer)
                        .map_or(0.0, |t| t.validation.leeway),
                )
            }
        }
    }
}
