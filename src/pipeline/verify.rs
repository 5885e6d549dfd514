//! Step 3 of the pipeline: the token's size, grammar, header, key,
//! signature and claims, or a still-valid verified-token cache entry.

use std::sync::Arc;
use std::time::SystemTime;

use super::issuers::route;
use super::{Pipeline, Verified};
use crate::cache::{Entry, Signer, TokenCache};
use crate::claims::{Claims, Payload};
use crate::error::Reason;
use crate::jwks::VerifyingKey;
use crate::jwks::store::Lookup;
use crate::time::unix_seconds;
use crate::token::extract::is_b64token;
use crate::token::jws::{self, Jws, TypPolicy};
use crate::token::validate::{check_key_issuer, check_times, validate};

impl Pipeline {
    /// Step 3: everything about the token that needs no network.
    pub(crate) fn verify(&self, token: &[u8], now: SystemTime) -> Verified {
        if token.len() > self.max_token_len {
            return Verified::Refused(Reason::TokenTooLarge);
        }
        if let Some(cache) = &self.cache {
            if let Some(entry) = cache.get(token)
                && let Some(verified) = self.verify_cached(cache, token, &entry, now)
            {
                crate::metrics::token_cache(true);
                return verified;
            }
            crate::metrics::token_cache(false);
        }
        // Not in the cache: check the grammar (`b64token` is ASCII).
        if !is_b64token(token) {
            return Verified::Refused(Reason::MalformedBearer);
        }
        let (jws, payload, issuer) = match self.parse_and_route(token) {
            Ok(parsed) => parsed,
            Err(reason) => return Verified::Refused(reason),
        };
        let trusted = &self.issuers[issuer];
        match trusted.keys.lookup(&jws.kid, now) {
            Lookup::Found(key) => self.check(&jws, payload, issuer, &key, now),
            Lookup::Refused(reason) => Verified::Refused(reason),
            // ASCII (checked above): the conversion cannot fail.
            Lookup::Fetch => match String::from_utf8(token.to_vec()) {
                Ok(token) => Verified::Fetch(token.into_boxed_str()),
                Err(_) => Verified::Refused(Reason::MalformedBearer),
            },
        }
    }

    /// Step 3 once more, after fetching the key [`Pipeline::verify`] asked for.
    /// Never answers [`Verified::Fetch`].
    pub(crate) async fn verify_fetched(&self, token: &str) -> Verified {
        let (jws, payload, issuer) = match self.parse_and_route(token.as_bytes()) {
            Ok(parsed) => parsed,
            Err(reason) => return Verified::Refused(reason),
        };
        match self.issuers[issuer].keys.resolve(&jws.kid).await {
            Ok(key) => self.check(&jws, payload, issuer, &key, self.clock.now()),
            Err(reason) => Verified::Refused(reason),
        }
    }

    /// The strict header, then the issuer the payload's `iss` names (before
    /// any key is looked up: a key is only ever looked up at the issuer the
    /// token claims, and the signature check then proves that claim), then
    /// that issuer's `typ` policy.
    fn parse_and_route<'t>(&self, token: &'t [u8]) -> Result<(Jws<'t>, Payload, usize), Reason> {
        let jws = jws::parse(token, self.max_token_len, TypPolicy::Lenient)?;
        let payload = jws.parse_payload()?;
        let issuer = route(&self.issuers, &payload)?;
        if self.issuers[issuer].typ == TypPolicy::Rfc9068 && !jws.rfc9068_typ {
            return Err(Reason::WrongType);
        }
        Ok((jws, payload, issuer))
    }

    /// A cached token: times are checked again, and the entry is used only
    /// while its key is still in its issuer's key set (`None`: verify afresh).
    fn verify_cached(
        &self,
        cache: &TokenCache,
        token: &[u8],
        entry: &Entry,
        now: SystemTime,
    ) -> Option<Verified> {
        let Some(trusted) = self.issuers.get(entry.issuer) else {
            cache.remove(token);
            return None;
        };
        // Through `lookup`, which also starts the background refresh when it
        // is due: a stream of cached tokens must not keep the keys from it.
        let key_current = matches!(
            trusted.keys.lookup(&entry.key.kid, now),
            Lookup::Found(key) if Arc::ptr_eq(&key, &entry.key)
        );
        if !key_current {
            cache.remove(token);
            return None;
        }
        let r = entry.claims.registered();
        if let Err(reason) =
            check_times(r.exp, r.nbf, r.iat, &trusted.validation, unix_seconds(now))
        {
            cache.remove(token);
            return Some(Verified::Refused(reason));
        }
        Some(Verified::Claims(entry.claims.clone(), entry.issuer))
    }

    /// Signature, claims and the key's own issuer binding; a valid token
    /// enters the cache with its issuer and key.
    fn check(
        &self,
        jws: &Jws<'_>,
        payload: Payload,
        issuer: usize,
        key: &Arc<VerifyingKey>,
        now: SystemTime,
    ) -> Verified {
        let trusted = &self.issuers[issuer];
        let verified = (|| {
            jws.verify(key)?;
            let claims = Claims::new(payload).ok_or(Reason::ClaimType)?;
            let now = unix_seconds(now);
            validate(&claims, &trusted.validation, now)?;
            let r = claims.registered();
            check_key_issuer(key, claims.issuer(), claims.tenant_id())?;
            if let (Some(cache), Some(exp)) = (&self.cache, r.exp) {
                cache.insert(
                    jws.token,
                    claims.clone(),
                    Signer {
                        issuer,
                        key: Arc::clone(key),
                    },
                    exp + trusted.validation.leeway,
                    now,
                );
            }
            Ok(claims)
        })();
        match verified {
            Ok(claims) => Verified::Claims(claims, issuer),
            Err(reason) => Verified::Refused(reason),
        }
    }
}
