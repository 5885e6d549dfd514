//! The request pipeline: plain functions over one immutable [`Pipeline`].
//!
//! For each request the layer calls, in order:
//! 1. [`Pipeline::select`]: the first matching rule, else the default
//!    (through the rules compiled at build(), [`Routes`]);
//! 2. [`Pipeline::extract`]: the bearer token, unless the rule is public;
//! 3. [`Pipeline::verify`] (or, when the key must be fetched first,
//!    [`Pipeline::verify_fetched`]): size, grammar, header, key, signature
//!    and claims, or a still-valid verified-token cache entry;
//! 4. [`Pipeline::authorize`]: scopes and roles, then on `mfa` routes the
//!    caller class, the MFA policy and exemptions, and report-only rules;
//! 5. [`Pipeline::conclude`]: logs the [`Verdict`] (the one place allow and
//!    deny are logged) and attaches the claims or renders the answer.
//!
//! Every step takes plain data (a rule, a header map, a token, claims, a time)
//! and returns plain data, so other front ends can run the same steps.

mod decision;
mod issuers;
mod log;
mod sender;
mod settings;
mod verify;

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Method, Request, Response, Uri};

pub use decision::Decision;
pub(crate) use issuers::Trusted;
pub(crate) use sender::Scheme;
pub(crate) use settings::{AnswerSettings, IssuerSettings, KeySettings, Settings};

use crate::body::ResponseBody;
use crate::cache::TokenCache;
use crate::challenge::{Answers, DpopChallenges, Facts, IsBrowser, scope_challenge};
use crate::claims::Claims;
use crate::clock::Clock;
use crate::dpop::Dpop;
use crate::error::{ErrorKind, Reason};
use crate::metadata::document::Published;
use crate::original_path::OriginalPath;
use crate::policy::caller::{AppOnly, Caller, classify};
use crate::policy::exempt::Exemptions;
use crate::policy::matcher::Routes;
use crate::policy::mfa::{MfaPolicy, MfaProof, check_mfa_route};
use crate::policy::requirement::Requirement;
use crate::policy::route::{Access, Rule};
use crate::time::unix_seconds;
use crate::token::extract::{Sources, bearer_token, dpop_token};

/// The immutable state of one layer: checked settings, the key store and the
/// verified-token cache.
pub(crate) struct Pipeline {
    rules: Vec<Rule>,
    /// `rules` compiled for [`Pipeline::select`].
    routes: Routes,
    default_rule: Rule,
    sources: Sources,
    max_token_len: usize,
    /// The trusted issuers (at least one), each with its own key store.
    pub(crate) issuers: Vec<Trusted>,
    pub(crate) cache: Option<TokenCache>,
    /// The default requirement (rules' index 0).
    default: Compiled,
    /// The named requirements (rules' index `n` is `named[n - 1]`).
    named: Box<[Compiled]>,
    exemptions: Exemptions,
    browser: Option<Arc<dyn IsBrowser>>,
    pub(crate) clock: Arc<dyn Clock>,
    /// DPoP state, when configured.
    dpop: Option<Dpop>,
    dpop_challenges: DpopChallenges,
    /// The Protected Resource Metadata document, when published.
    pub(crate) metadata: Option<Published>,
}

/// One requirement, ready for requests: how MFA is proven, what app-only
/// callers get, and its pre-rendered answers.
struct Compiled {
    mfa: MfaPolicy,
    app_only: AppOnly,
    answers: Answers,
}

impl Compiled {
    /// `metadata`: the resource metadata URL the `401` challenges name.
    fn new(r: Requirement, answers: &AnswerSettings, metadata: Option<&str>) -> Self {
        let policy_max_age = r.mfa.max_age.map(|age| age.as_secs());
        Self {
            answers: Answers::new(
                answers.realm.as_deref(),
                &r.style,
                answers.keys_unavailable,
                r.step_up,
                r.claims_challenge.as_ref(),
                policy_max_age,
                answers.renderer.clone(),
                metadata,
            ),
            mfa: r.mfa,
            app_only: r.app_only,
        }
    }
}

/// What [`Pipeline::extract`] found.
pub(crate) enum Extracted<'h> {
    /// Nothing to verify: a public route, or an optional one without token.
    Skip,
    /// The raw token (not yet checked beyond its source's grammar).
    Token(&'h [u8]),
    /// The raw token of a `DPoP` scheme header (`b64token` checked).
    Dpop(&'h [u8]),
    /// The request is refused before any token is read.
    Refused(Reason),
}

/// What [`Pipeline::verify`] found.
pub(crate) enum Verified {
    /// The token is valid: signature, issuer, audience and times; with the
    /// index of its issuer.
    Claims(Claims, usize),
    /// The token's key is not cached: call [`Pipeline::verify_fetched`].
    Fetch(Box<str>),
    /// The token is refused.
    Refused(Reason),
}

/// The end of the pipeline for one request.
pub(crate) enum Verdict {
    /// Let the request through, with the claims when a token was verified.
    Allow(Option<(Claims, Decision)>),
    /// Refuse it (with the claims when the token itself was valid).
    Deny(Reason, Option<Claims>),
}

impl Pipeline {
    /// Builds the key store, the token cache and the pre-rendered answers.
    pub(crate) fn new(settings: Settings) -> Self {
        let Settings {
            issuers,
            max_lifetime,
            keys,
            mut rules,
            routes,
            default_access,
            sources,
            max_token_len,
            requirements,
            exemptions,
            answers,
            clock,
            cache_bytes,
            dpop,
            metadata,
        } = settings;
        let metadata_url = metadata.as_ref().map(Published::url);
        let mut requirements = requirements
            .into_iter()
            .map(|r| Compiled::new(r, &answers, metadata_url));
        let default = requirements
            .next()
            .unwrap_or_else(|| Compiled::new(Requirement::mfa(), &answers, metadata_url));
        let named = requirements.collect();
        for rule in &mut rules {
            // Roles are not named: a client cannot obtain one by asking
            // for a scope (a missing role has its own answer).
            if !rule.scopes.is_empty() {
                rule.scope_challenge = Some(scope_challenge(&rule.scopes));
            }
        }
        let max_lifetime = max_lifetime.as_secs_f64();
        let issuers = issuers
            .into_iter()
            .map(|issuer| Trusted::new(issuer, &keys, max_lifetime, &clock))
            .collect();
        Self {
            rules,
            routes,
            default_rule: Rule::new(default_access, "/**").name("default"),
            sources,
            max_token_len,
            issuers,
            cache: (cache_bytes > 0).then(|| TokenCache::new(cache_bytes)),
            default,
            named,
            exemptions,
            browser: answers.browser.clone(),
            clock,
            dpop: dpop.map(Dpop::new),
            dpop_challenges: DpopChallenges::new(metadata_url),
            metadata,
        }
    }

    /// The configured rules, in order (for `Debug`).
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The requirement of `rule` (resolved by `build()`; the default one
    /// for every rule that names none).
    fn requirement(&self, rule: &Rule) -> &Compiled {
        rule.requirement_index
            .checked_sub(1)
            .and_then(|n| self.named.get(n))
            .unwrap_or(&self.default)
    }

    /// The exemptions (`inspect` shows the one used, with its expiry).
    #[cfg(feature = "cli")]
    pub(crate) fn exemptions(&self) -> &Exemptions {
        &self.exemptions
    }

    /// Step 1: the rule for a request, first match wins, else the default.
    /// `path` is the path the client asked for (see [`OriginalPath`]). The
    /// rules were compiled at build() ([`Routes`]): same answer as walking
    /// them in order, at a cost that does not grow with their number.
    pub(crate) fn select(
        &self,
        method: &Method,
        path: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> &Rule {
        self.routes
            .select(&self.rules, method, path, uri, headers)
            .and_then(|i| self.rules.get(i))
            .unwrap_or(&self.default_rule)
    }

    /// Step 2: the bearer token, unless the rule needs none.
    pub(crate) fn extract<'h>(
        &self,
        rule: &Rule,
        uri: &'h Uri,
        headers: &'h HeaderMap,
    ) -> Extracted<'h> {
        if rule.access == Access::Public {
            return Extracted::Skip;
        }
        if rule.sender.accepts_dpop()
            && self.dpop.is_some()
            && let Some(found) = dpop_token(headers, uri, &self.sources)
        {
            return match found {
                Ok(token) => Extracted::Dpop(token),
                Err(reason) => Extracted::Refused(reason),
            };
        }
        match bearer_token(headers, uri, &self.sources) {
            Ok(token) => Extracted::Token(token),
            Err(reason)
                if reason.kind() == ErrorKind::MissingToken && rule.access == Access::Optional =>
            {
                Extracted::Skip
            }
            Err(reason) => Extracted::Refused(reason),
        }
    }

    /// Step 4: scopes and roles, then (on `mfa` routes) caller class and MFA
    /// proof; exemptions stand in for missing MFA proof only, after the
    /// token, tenant lists, scopes and roles passed.
    pub(crate) fn authorize(
        &self,
        rule: &Rule,
        claims: Claims,
        issuer: usize,
        now: SystemTime,
    ) -> Verdict {
        let caller = classify(&claims);
        let (issuer_name, leeway) = self.issuers.get(issuer).map_or_else(
            || (Arc::from(""), 0.0),
            |t| (Arc::clone(&t.name), t.validation.leeway),
        );
        let mut decision = Decision {
            claims: claims.clone(),
            issuer: Arc::clone(&issuer_name),
            caller,
            mfa: None,
            rule: Arc::clone(&rule.name),
            access: rule.access,
            reported: None,
            exemption: None,
        };
        let mut outcome = self.check_rule(rule, &claims, caller, leeway, now);
        if let Err(reason) = outcome
            && reason.kind() == ErrorKind::MfaRequired
            && rule.access == Access::Mfa
            && let Some(exemption) = self.exemptions.find(&claims, now)
        {
            log::exemption(&exemption, reason, rule, &claims);
            decision.exemption = Some(exemption.id.as_str().into());
            outcome = Ok(None);
        }
        match outcome {
            Ok(proof) => decision.mfa = proof,
            Err(reason) if rule.reports_only(now) => decision.reported = Some(reason),
            Err(reason) => return Verdict::Deny(reason, Some(claims)),
        }
        Verdict::Allow(Some((claims, decision)))
    }

    fn check_rule(
        &self,
        rule: &Rule,
        claims: &Claims,
        caller: Caller,
        leeway: f64,
        now: SystemTime,
    ) -> Result<Option<MfaProof>, Reason> {
        let has_scopes = rule.scopes.iter().all(|s| claims.scopes().any(|c| c == s));
        if !has_scopes {
            return Err(Reason::MissingScope);
        }
        let has_roles = rule
            .roles
            .iter()
            .all(|r| claims.roles().iter().any(|c| c == r));
        if !has_roles {
            return Err(Reason::MissingRole);
        }
        if rule.access != Access::Mfa {
            return Ok(None);
        }
        let requirement = self.requirement(rule);
        check_mfa_route(
            &requirement.mfa,
            requirement.app_only,
            caller,
            claims,
            unix_seconds(now),
            leeway,
        )
    }

    /// The short name of the issuer of verified `claims` (the one their
    /// `iss` routed to; `build()` guarantees there is at most one).
    fn issuer_of(&self, claims: &Claims) -> Option<&Arc<str>> {
        let iss = claims.issuer()?;
        self.issuers
            .iter()
            .find(|t| t.validation.issuer.matches(iss))
            .map(|t| &t.name)
    }

    /// Step 5: logs the verdict, then either attaches the claims and decision
    /// to the request (`None`: let it through) or answers the refusal.
    pub(crate) fn conclude<B, R>(
        &self,
        rule: &Rule,
        verdict: Verdict,
        req: &mut Request<R>,
        now: SystemTime,
    ) -> Option<Response<ResponseBody<B>>> {
        log::verdict(rule, &verdict, |claims| self.issuer_of(claims));
        match verdict {
            Verdict::Allow(found) => {
                // One extension (the decision holds the claims): one heap
                // allocation per request, not one per type.
                if let Some((_claims, decision)) = found {
                    req.extensions_mut().insert(decision);
                }
                None
            }
            Verdict::Deny(reason, claims) => {
                let return_to = OriginalPath::path_and_query_of(req);
                Some(self.answer(rule, reason, claims.as_ref(), req.headers(), return_to, now))
            }
        }
    }

    /// The answer to a refusal: status, challenge, body or redirect.
    /// `return_to` is the original path and query (for the browser redirect).
    pub(crate) fn answer<B>(
        &self,
        rule: &Rule,
        reason: Reason,
        claims: Option<&Claims>,
        headers: &HeaderMap,
        return_to: &str,
        now: SystemTime,
    ) -> Response<ResponseBody<B>> {
        let mut facts = Facts::of(headers, self.browser.as_deref());
        // Capability names are compared ASCII case-insensitively (`CP1`, `Cp1`).
        facts.cp1 = claims.is_some_and(|c| {
            c.client_capabilities()
                .iter()
                .any(|cap| cap.eq_ignore_ascii_case("cp1"))
        });
        let mut response = self.requirement(rule).answers.render(
            reason,
            rule.scope_challenge.as_ref(),
            facts,
            return_to,
            self.retry_after(now),
        );
        if rule.sender.accepts_dpop() {
            let kind = reason.kind();
            let challenged = if facts.grpc {
                matches!(
                    kind,
                    ErrorKind::MissingToken | ErrorKind::InvalidToken | ErrorKind::MfaRequired
                )
            } else {
                response.status() == http::StatusCode::UNAUTHORIZED
            };
            if challenged {
                let nonce = self.dpop.as_ref().and_then(|d| d.nonce(unix_seconds(now)));
                self.dpop_challenges.apply(
                    response.headers_mut(),
                    reason,
                    rule.sender,
                    facts.grpc,
                    &self.requirement(rule).answers.missing,
                    nonce.as_deref(),
                );
            }
        }
        response
    }

    /// Seconds until an unknown-`kid` refresh may run again: the longest
    /// wait among the issuers (at least 1).
    fn retry_after(&self, now: SystemTime) -> u64 {
        self.issuers
            .iter()
            .map(|t| t.keys.retry_after(now))
            .max()
            .unwrap_or(1)
    }
}
