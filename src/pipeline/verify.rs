//! Step 3 of the pipeline: the token's size, grammar, header, key,
//! signature and claims, or a still-valid verified-token cache entry.

use std::sync::Arc;
use std::time::SystemTime;

use super::{Pipeline, Verified};
use crate::cache::{Entry, TokenCache};
use crate::claims::Claims;
use crate::error::Reason;
use crate::jwks::VerifyingKey;
use crate::jwks::store::Lookup;
use crate::time::unix_seconds;
use crate::token::extract::is_b64token;
use crate::token::jws::{self, Jws};
use crate::token::validate::{check_times, validate};

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
        let Some(token) = is_b64token(token)
            .then(|| std::str::from_utf8(token).ok())
            .flatten()
        else {
            return Verified::Refused(Reason::MalformedBearer);
        };
        let jws = match jws::parse(token, self.max_token_len, self.typ) {
            Ok(jws) => jws,
            Err(reason) => return Verified::Refused(reason),
        };
        match self.keys.lookup(&jws.kid, now) {
            Lookup::Found(key) => self.check(&jws, &key, now),
            Lookup::Refused(reason) => Verified::Refused(reason),
            Lookup::Fetch => Verified::Fetch(token.into()),
        }
    }

    /// Step 3 once more, after fetching the key [`Pipeline::verify`] asked for.
    /// Never answers [`Verified::Fetch`].
    pub(crate) async fn verify_fetched(&self, token: &str) -> Verified {
        let jws = match jws::parse(token, self.max_token_len, self.typ) {
            Ok(jws) => jws,
            Err(reason) => return Verified::Refused(reason),
        };
        match self.keys.resolve(&jws.kid).await {
            Ok(key) => self.check(&jws, &key, self.clock.now()),
            Err(reason) => Verified::Refused(reason),
        }
    }

    /// A cached token: times are checked again, and the entry is used only
    /// while its key is still in the key set (`None`: verify afresh).
    fn verify_cached(
        &self,
        cache: &TokenCache,
        token: &[u8],
        entry: &Entry,
        now: SystemTime,
    ) -> Option<Verified> {
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
            return Some(Verified::Refused(reason));
        }
        Some(Verified::Claims(entry.claims.clone()))
    }

    /// Signature and claims; a valid token enters the cache.
    fn check(&self, jws: &Jws<'_>, key: &Arc<VerifyingKey>, now: SystemTime) -> Verified {
        let verified = (|| {
            jws.verify(key)?;
            let claims = Claims::from_payload(jws.payload()?).ok_or(Reason::ClaimType)?;
            let now = unix_seconds(now);
            validate(&claims, &self.validation, now)?;
            if let (Some(cache), Some(exp)) = (&self.cache, claims.registered().exp) {
                cache.insert(
                    jws.token,
                    claims.clone(),
                    Arc::clone(key),
                    exp + self.validation.leeway,
                    now,
                );
            }
            Ok(claims)
        })();
        match verified {
            Ok(claims) => Verified::Claims(claims),
            Err(reason) => Verified::Refused(reason),
        }
    }
}
