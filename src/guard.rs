//! The request pipeline of PRODUCT.md §3 as plain functions over a shared,
//! immutable configuration: rule, token, header, key, signature, claims,
//! then (only on `mfa` routes) the MFA policy.

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Method, Uri};

use crate::cache::{Entry, TokenCache};
use crate::challenge::Answers;
use crate::claims::Claims;
use crate::clock::{Clock, unix_seconds};
use crate::error::{ErrorKind, Reason};
use crate::jwks::VerifyingKey;
use crate::jwks::store::{KeyStore, Lookup};
use crate::log::Escaped;
use crate::policy::caller::{AppOnly, Caller, classify};
use crate::policy::exempt::{Exemption, Exemptions};
use crate::policy::matcher::Routes;
use crate::policy::mfa::{MfaPolicy, MfaProof, check_mfa_route};
use crate::policy::route::{Access, Rule};
use crate::token::extract::{Sources, bearer_token, is_b64token};
use crate::token::jws::{self, Jws, TypPolicy};
use crate::token::validate::{Validation, check_times, validate};

/// What the layer decided for one request, attached to its extensions next
/// to the [`Claims`].
#[derive(Debug, Clone)]
pub struct Decision {
    caller: Caller,
    mfa: Option<MfaProof>,
    rule: Arc<str>,
    access: Access,
    reported: Option<Reason>,
    exemption: Option<Arc<str>>,
}

impl Decision {
    /// Whether the caller is a user or an app acting for itself.
    #[must_use]
    pub fn caller(&self) -> Caller {
        self.caller
    }

    /// How MFA was proven, when the token carries proof (checked on `mfa`
    /// routes only; `None` elsewhere and for app-only callers let through).
    #[must_use]
    pub fn mfa(&self) -> Option<MfaProof> {
        self.mfa
    }

    /// The name of the rule that matched.
    #[must_use]
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The access the rule required.
    #[must_use]
    pub fn access(&self) -> Access {
        self.access
    }

    /// On a report-only rule: the refusal that was reported but not enforced.
    #[must_use]
    pub fn reported(&self) -> Option<Reason> {
        self.reported
    }

    /// The id of the [`Exemption`] that let the request through without MFA
    /// proof, when one did (audited at target `tower_mfa::audit`).
    #[must_use]
    pub fn exemption(&self) -> Option<&str> {
        self.exemption.as_deref()
    }
}

/// The immutable configuration of one layer.
pub(crate) struct Guard {
    pub(crate) rules: Vec<Rule>,
    /// `rules` compiled for [`Guard::select`].
    pub(crate) routes: Routes,
    pub(crate) default_rule: Rule,
    pub(crate) sources: Sources,
    pub(crate) max_token_len: usize,
    pub(crate) typ: TypPolicy,
    pub(crate) validation: Validation,
    pub(crate) keys: KeyStore,
    pub(crate) cache: Option<TokenCache>,
    pub(crate) mfa: MfaPolicy,
    pub(crate) app_only: AppOnly,
    pub(crate) exemptions: Exemptions,
    pub(crate) answers: Answers,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The outcome of the synchronous part of the pipeline.
pub(crate) enum Begin {
    /// Let the request through, with claims when a token was verified.
    Pass(Option<(Claims, Decision)>),
    /// Refuse it (with the claims when the token itself was valid).
    Refuse(Reason, Option<Claims>),
    /// The key is not cached: resolve it, then [`Guard::finish_async`].
    Fetch(Box<str>),
}

impl Guard {
    /// The rule for a request: first match wins, else the default.
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

    /// Runs every step that needs no network.
    pub(crate) fn begin(
        &self,
        rule: &Rule,
        uri: &Uri,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Begin {
        if rule.access == Access::Public {
            return Begin::Pass(None);
        }
        let token = match bearer_token(headers, uri, &self.sources) {
            Ok(token) => token,
            Err(reason)
                if reason.kind() == ErrorKind::MissingToken && rule.access == Access::Optional =>
            {
                return Begin::Pass(None);
            }
            Err(reason) => return Begin::Refuse(reason, None),
        };
        if token.len() > self.max_token_len {
            return Begin::Refuse(Reason::TokenTooLarge, None);
        }
        if let Some(cache) = &self.cache {
            if let Some(entry) = cache.get(token)
                && let Some(begin) = self.begin_cached(cache, rule, token, &entry, now)
            {
                crate::metrics::token_cache(true);
                return begin;
            }
            crate::metrics::token_cache(false);
        }
        // Not in the cache: check the grammar (`b64token` is ASCII).
        let Some(token) = is_b64token(token)
            .then(|| std::str::from_utf8(token).ok())
            .flatten()
        else {
            return Begin::Refuse(Reason::MalformedBearer, None);
        };
        let jws = match jws::parse(token, self.max_token_len, self.typ) {
            Ok(jws) => jws,
            Err(reason) => return Begin::Refuse(reason, None),
        };
        match self.keys.lookup(&jws.kid, now) {
            Lookup::Found(key) => self.finish(rule, &jws, &key, now),
            Lookup::Refused(reason) => Begin::Refuse(reason, None),
            Lookup::Fetch => Begin::Fetch(token.into()),
        }
    }

    /// The rest of the pipeline once the key is known.
    pub(crate) async fn finish_async(&self, rule: &Rule, token: &str) -> Begin {
        let jws = match jws::parse(token, self.max_token_len, self.typ) {
            Ok(jws) => jws,
            Err(reason) => return Begin::Refuse(reason, None),
        };
        match self.keys.resolve(&jws.kid).await {
            Ok(key) => self.finish(rule, &jws, &key, self.clock.now()),
            Err(reason) => Begin::Refuse(reason, None),
        }
    }

    /// A cached token: times are checked again, and the entry is used only
    /// while its key is still in the key set (`None`: verify afresh).
    fn begin_cached(
        &self,
        cache: &TokenCache,
        rule: &Rule,
        token: &[u8],
        entry: &Entry,
        now: SystemTime,
    ) -> Option<Begin> {
        // Through `lookup`, which also starts the background refresh when it
        // is due: a stream of cached tokens must not keep the keys from it.
        let key_current = matches!(
            self.keys.lookup(&entry.key.kid, now),
            Lookup::Found(key) if Arc::ptr_eq(&key, &entry.key)
        );
        if !key_current {
            cache.remove(token);
            return None;
        }
        let r = entry.claims.registered();
        if let Err(reason) = check_times(r.exp, r.nbf, r.iat, &self.validation, unix_seconds(now)) {
            cache.remove(token);
            return Some(Begin::Refuse(reason, None));
        }
        Some(self.authorize(rule, entry.claims.clone(), now))
    }

    fn finish(
        &self,
        rule: &Rule,
        jws: &Jws<'_>,
        key: &Arc<VerifyingKey>,
        now: SystemTime,
    ) -> Begin {
        match self.verify(jws, key, now) {
            Ok(claims) => self.authorize(rule, claims, now),
            Err(reason) => Begin::Refuse(reason, None),
        }
    }

    fn verify(
        &self,
        jws: &Jws<'_>,
        key: &Arc<VerifyingKey>,
        now: SystemTime,
    ) -> Result<Claims, Reason> {
        jws.verify(key)?;
        let claims = Claims::from_payload(jws.payload()?).ok_or(Reason::ClaimType)?;
        let now = unix_seconds(now);
        validate(&claims, &self.validation, now)?;
        if let (Some(cache), Some(exp)) = (&self.cache, claims.expires_at()) {
            cache.insert(
                jws.token,
                claims.clone(),
                Arc::clone(key),
                exp + self.validation.leeway,
                now,
            );
        }
        Ok(claims)
    }

    /// Scopes and roles, then (on `mfa` routes) caller class and MFA proof.
    fn authorize(&self, rule: &Rule, claims: Claims, now: SystemTime) -> Begin {
        let caller = classify(&claims);
        let mut decision = Decision {
            caller,
            mfa: None,
            rule: Arc::clone(&rule.name),
            access: rule.access,
            reported: None,
            exemption: None,
        };
        let mut outcome = self.check_rule(rule, &claims, caller, now);
        // PRODUCT.md §3 step 8: exemptions only stand in for missing MFA
        // proof, after the token, tenant lists, scopes and roles passed.
        if let Err(reason) = outcome
            && reason.kind() == ErrorKind::MfaRequired
            && rule.access == Access::Mfa
            && let Some(exemption) = self.exemptions.find(&claims, now)
        {
            self.log_exemption(&exemption, reason, rule, &claims);
            decision.exemption = Some(exemption.id.as_str().into());
            outcome = Ok(None);
        }
        match outcome {
            Ok(proof) => decision.mfa = proof,
            Err(reason) if rule.reports_only(now) => {
                self.log_decision("report_only", Some(reason), rule, Some(&claims));
                decision.reported = Some(reason);
                return Begin::Pass(Some((claims, decision)));
            }
            Err(reason) => return Begin::Refuse(reason, Some(claims)),
        }
        self.log_decision_exempt("allow", None, rule, Some(&claims), decision.exemption());
        Begin::Pass(Some((claims, decision)))
    }

    fn check_rule(
        &self,
        rule: &Rule,
        claims: &Claims,
        caller: Caller,
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
        check_mfa_route(
            &self.mfa,
            self.app_only,
            caller,
            claims,
            unix_seconds(now),
            self.validation.leeway,
        )
    }

    /// One event per decision at target `tower_mfa::decision`. Claim values
    /// come from a verified token and are still escaped and capped; the
    /// token itself is never logged.
    pub(crate) fn log_decision(
        &self,
        outcome: &'static str,
        reason: Option<Reason>,
        rule: &Rule,
        claims: Option<&Claims>,
    ) {
        self.log_decision_exempt(outcome, reason, rule, claims, None);
    }

    /// [`Self::log_decision`] naming the exemption used (`exemption` field,
    /// empty when none).
    fn log_decision_exempt(
        &self,
        outcome: &'static str,
        reason: Option<Reason>,
        rule: &Rule,
        claims: Option<&Claims>,
        exemption: Option<&str>,
    ) {
        let exemption = Escaped(exemption.unwrap_or(""));
        let reason_code = reason.map_or("", Reason::as_str);
        let kind = reason.map_or("", |r| r.kind().as_str());
        crate::metrics::decision(outcome, kind);
        let tid = claims.and_then(Claims::tenant_id).unwrap_or("");
        let oid = claims.and_then(Claims::object_id).unwrap_or("");
        let app = claims.and_then(Claims::client_id).unwrap_or("");
        if outcome == "allow" {
            tracing::debug!(target: "tower_mfa::decision", outcome, rule = %rule.name, access = rule.access.as_str(), tenant = %Escaped(tid), oid = %Escaped(oid), app_id = %Escaped(app), exemption = %exemption, "request allowed");
        } else {
            tracing::info!(target: "tower_mfa::decision", outcome, reason = reason_code, kind, rule = %rule.name, access = rule.access.as_str(), tenant = %Escaped(tid), oid = %Escaped(oid), app_id = %Escaped(app), exemption = %exemption, "request refused");
        }
    }

    /// The audit event of one use of an exemption, at target
    /// `tower_mfa::audit`: which exemption, why it exists, whom it let
    /// through on which rule, and the MFA refusal it suppressed. Claim values
    /// are escaped and capped; the token is never logged.
    fn log_exemption(
        &self,
        exemption: &Exemption,
        suppressed: Reason,
        rule: &Rule,
        claims: &Claims,
    ) {
        let expires = exemption
            .expires
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        tracing::warn!(
            target: "tower_mfa::audit",
            exemption_id = %Escaped(&exemption.id),
            reason = ?exemption.reason,
            subject = exemption.subject.kind(),
            expires,
            suppressed = suppressed.as_str(),
            rule = %rule.name,
            tenant = %Escaped(claims.tenant_id().unwrap_or("")),
            oid = %Escaped(claims.object_id().unwrap_or("")),
            app_id = %Escaped(claims.client_id().unwrap_or("")),
            "MFA check suppressed by an exemption"
        );
    }
}
