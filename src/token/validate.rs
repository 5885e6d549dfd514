//! Claim checks after the signature verified: issuer (exact or tenant
//! template), audience, and time (`exp` required, `nbf`, `iat`, leeway, a
//! maximum lifetime).

use crate::claims::{Audience, Claims};
use crate::error::Reason;

/// The placeholder of a multi-tenant issuer template.
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// How `iss` is matched.
#[derive(Debug, Clone)]
pub(crate) enum IssuerMatch {
    /// Byte-for-byte equality.
    Exact(String),
    /// `prefix` + a tenant GUID equal to `tid` + `suffix`.
    Template { prefix: String, suffix: String },
}

impl IssuerMatch {
    pub(crate) fn new(issuer: &str) -> Self {
        match issuer.split_once(TENANT_PLACEHOLDER) {
            Some((prefix, suffix)) if !suffix.contains(TENANT_PLACEHOLDER) => Self::Template {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            },
            _ => Self::Exact(issuer.to_owned()),
        }
    }

    /// The issuer to expect in a discovery document (exact issuers only).
    pub(crate) fn exact(&self) -> Option<&str> {
        match self {
            Self::Exact(s) => Some(s),
            Self::Template { .. } => None,
        }
    }
}

/// Which tenants are accepted (`tid`), for multi-tenant issuers.
#[derive(Debug, Clone, Default)]
pub(crate) struct TenantFilter {
    pub(crate) allow: Vec<String>,
    pub(crate) deny: Vec<String>,
}

impl TenantFilter {
    fn accepts(&self, tid: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|t| t.eq_ignore_ascii_case(tid));
        !listed(&self.deny) && (self.allow.is_empty() || listed(&self.allow))
    }

    fn is_active(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }
}

/// The claim checks of one configuration.
#[derive(Debug, Clone)]
pub(crate) struct Validation {
    pub(crate) issuer: IssuerMatch,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: f64,
    pub(crate) max_lifetime: f64,
    pub(crate) tenants: TenantFilter,
}

/// Checks the claims against `v` at time `now` (seconds since the epoch).
pub(crate) fn validate(claims: &Claims, v: &Validation, now: f64) -> Result<(), Reason> {
    let r = claims.registered();
    check_times(r.exp, r.nbf, r.iat, v, now)?;
    // A sign-in in the future would satisfy any `max_age` forever.
    if r.auth_time
        .is_some_and(|t| !t.is_finite() || t > now + v.leeway)
    {
        return Err(Reason::AuthTimeInFuture);
    }
    let iss = r.iss.as_deref().ok_or(Reason::WrongIssuer)?;
    match &v.issuer {
        IssuerMatch::Exact(expected) => {
            if iss != expected {
                return Err(Reason::WrongIssuer);
            }
        }
        IssuerMatch::Template { prefix, suffix } => {
            let tenant = iss
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .ok_or(Reason::WrongIssuer)?;
            let tid = r.tid.as_deref().ok_or(Reason::WrongTenant)?;
            if !is_guid(tenant) || tenant != tid {
                return Err(Reason::WrongTenant);
            }
        }
    }
    if v.tenants.is_active() {
        let tid = r.tid.as_deref().ok_or(Reason::WrongTenant)?;
        if !v.tenants.accepts(tid) {
            return Err(Reason::WrongTenant);
        }
    }
    let audience_ok = match &r.aud {
        Some(Audience::One(a)) => v.audiences.iter().any(|x| x == a),
        Some(Audience::Many(list)) => list.iter().any(|a| v.audiences.iter().any(|x| x == a)),
        None => false,
    };
    if !audience_ok {
        return Err(Reason::WrongAudience);
    }
    Ok(())
}

/// Time checks alone; also used on cached tokens.
pub(crate) fn check_times(
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    v: &Validation,
    now: f64,
) -> Result<(), Reason> {
    let exp = exp.ok_or(Reason::MissingExpiry)?;
    if !exp.is_finite() || now - v.leeway >= exp {
        return Err(Reason::Expired);
    }
    if exp - now > v.max_lifetime {
        return Err(Reason::LifetimeTooLong);
    }
    if nbf.is_some_and(|nbf| !nbf.is_finite() || nbf > now + v.leeway) {
        return Err(Reason::NotYetValid);
    }
    if iat.is_some_and(|iat| !iat.is_finite() || iat > now + v.leeway) {
        return Err(Reason::IssuedInFuture);
    }
    Ok(())
}

/// A GUID in its canonical 8-4-4-4-12 lower-case hex form.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("df845f1a-7b35-40a2-ba78-6481de91f8ae"));
        assert!(!is_guid("DF845F1A-7B35-40A2-BA78-6481DE91F8AE"));
        assert!(!is_guid("df845f1a-7b35-40a2-ba78-6481de91f8a"));
        assert!(!is_guid("common"));
    }

    #[test]
    fn templates() {
        assert!(matches!(
            IssuerMatch::new("https://login.microsoftonline.com/{tenantid}/v2.0"),
            IssuerMatch::Template { .. }
        ));
        assert!(matches!(
            IssuerMatch::new("https://issuer.test/"),
            IssuerMatch::Exact(_)
        ));
    }
}
