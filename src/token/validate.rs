//! Claim checks after the signature verified: issuer (exact or tenant
//! template), audience, and time (`exp` required, `nbf`, `iat`, leeway, a
//! maximum lifetime).

use crate::claims::{Audience, Claims};
use crate::error::Reason;
use crate::jwks::VerifyingKey;

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

    /// The issuer as configured (a template with its placeholder).
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Exact(s) => s.clone(),
            Self::Template { prefix, suffix } => format!("{prefix}{TENANT_PLACEHOLDER}{suffix}"),
        }
    }

    /// The issuer to expect in a discovery document (exact issuers only).
    pub(crate) fn exact(&self) -> Option<&str> {
        match self {
            Self::Exact(s) => Some(s),
            Self::Template { .. } => None,
        }
    }

    /// Whether `iss` is this issuer's (a template: any middle that is a
    /// GUID). Routes a token to its issuer; the claim checks run later.
    pub(crate) fn matches(&self, iss: &str) -> bool {
        match self {
            Self::Exact(expected) => iss == expected,
            Self::Template { prefix, suffix } => template_tenant(prefix, suffix, iss).is_some(),
        }
    }

    /// Whether some `iss` could match both `self` and `other`, decided
    /// conservatively: a template overlaps an exact issuer that has its
    /// prefix and suffix (whatever lies between), and two templates overlap
    /// unless their prefixes or their suffixes differ where both have a
    /// character.
    pub(crate) fn overlaps(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Exact(a), Self::Exact(b)) => a == b,
            (Self::Exact(e), Self::Template { prefix, suffix })
            | (Self::Template { prefix, suffix }, Self::Exact(e)) => {
                e.len() >= prefix.len() + suffix.len()
                    && e.starts_with(prefix.as_str())
                    && e.ends_with(suffix.as_str())
            }
            (
                Self::Template {
                    prefix: p1,
                    suffix: s1,
                },
                Self::Template {
                    prefix: p2,
                    suffix: s2,
                },
            ) => {
                (p1.starts_with(p2.as_str()) || p2.starts_with(p1.as_str()))
                    && (s1.ends_with(s2.as_str()) || s2.ends_with(s1.as_str()))
            }
        }
    }
}

/// The tenant GUID between `prefix` and `suffix` in `iss`.
fn template_tenant<'i>(prefix: &str, suffix: &str, iss: &'i str) -> Option<&'i str> {
    iss.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .filter(|tenant| is_guid(tenant))
}

/// Entra's v1 (`https://sts.windows.net/{tid}/`) and v2
/// (`https://login.microsoftonline.com/{tid}/v2.0`) issuer forms.
const ENTRA_FORMS: [(&str, &str); 2] = [
    ("https://sts.windows.net/", "/"),
    ("https://login.microsoftonline.com/", "/v2.0"),
];

/// The tenant of an Entra issuer in its v1 or v2 form.
pub(crate) fn entra_tenant(iss: &str) -> Option<&str> {
    ENTRA_FORMS
        .iter()
        .find_map(|(prefix, suffix)| template_tenant(prefix, suffix, iss))
}

/// Whether a key's own `issuer` member (Entra publishes one per key) names
/// the token's issuer: equal once a `{tenantid}` in it is replaced by the
/// token's `tid`, or both Entra forms (v1 or v2) of the same tenant.
pub(crate) fn key_issuer_names(key_issuer: &str, iss: &str, tid: Option<&str>) -> bool {
    let concrete;
    let key_issuer = if key_issuer.contains(TENANT_PLACEHOLDER) {
        let Some(tid) = tid.filter(|t| is_guid(t)) else {
            return false;
        };
        concrete = key_issuer.replacen(TENANT_PLACEHOLDER, tid, 1);
        if concrete.contains(TENANT_PLACEHOLDER) {
            return false;
        }
        concrete.as_str()
    } else {
        key_issuer
    };
    if key_issuer == iss {
        return true;
    }
    matches!(
        (entra_tenant(key_issuer), entra_tenant(iss)),
        (Some(a), Some(b)) if a == b
    )
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

    pub(crate) fn is_active(&self) -> bool {
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
    let iss = claims.issuer().ok_or(Reason::WrongIssuer)?;
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
            let tid = claims.tenant_id().ok_or(Reason::WrongTenant)?;
            if !is_guid(tenant) || tenant != tid {
                return Err(Reason::WrongTenant);
            }
        }
    }
    if v.tenants.is_active() {
        let tid = claims.tenant_id().ok_or(Reason::WrongTenant)?;
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

/// A key with Entra's per-key `issuer` verifies only tokens of the tenant it
/// names; a key without one is bound to its issuer's key set alone.
pub(crate) fn check_key_issuer(
    key: &VerifyingKey,
    iss: Option<&str>,
    tid: Option<&str>,
) -> Result<(), Reason> {
    match (key.issuer.as_deref(), iss) {
        (None, _) => Ok(()),
        (Some(named), Some(iss)) if key_issuer_names(named, iss, tid) => Ok(()),
        (Some(_), _) => Err(Reason::KeyIssuerMismatch),
    }
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

    const A: &str = "df845f1a-7b35-40a2-ba78-6481de91f8ae";
    const B: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn routing_and_overlaps() {
        let v2 = IssuerMatch::new("https://login.microsoftonline.com/{tenantid}/v2.0");
        let v1 = IssuerMatch::new("https://sts.windows.net/{tenantid}/");
        assert!(v2.matches(&format!("https://login.microsoftonline.com/{A}/v2.0")));
        assert!(!v2.matches("https://login.microsoftonline.com/common/v2.0"));
        assert!(!v1.matches(&format!("https://login.microsoftonline.com/{A}/v2.0")));
        assert!(!v1.overlaps(&v2));
        assert!(v2.overlaps(&v2.clone()));
        let exact = IssuerMatch::new(&format!("https://login.microsoftonline.com/{A}/v2.0"));
        assert!(exact.overlaps(&v2) && v2.overlaps(&exact));
        assert!(!exact.overlaps(&v1));
        let other = IssuerMatch::new("https://idp.example/");
        assert!(!other.overlaps(&exact) && !other.overlaps(&v2));
        assert!(other.overlaps(&IssuerMatch::new("https://idp.example/")));
        // Templates whose prefixes and suffixes are compatible overlap.
        let wide = IssuerMatch::new("https://login.microsoftonline.com/{tenantid}");
        assert!(wide.overlaps(&v2));
    }

    #[test]
    fn key_issuers() {
        let v1 = format!("https://sts.windows.net/{A}/");
        let v2 = format!("https://login.microsoftonline.com/{A}/v2.0");
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(key_issuer_names(template, &v2, Some(A)));
        assert!(key_issuer_names(template, &v1, Some(A)));
        assert!(!key_issuer_names(template, &v2, Some(B)));
        assert!(!key_issuer_names(template, &v2, None));
        assert!(key_issuer_names(&v2, &v1, Some(A)));
        assert!(key_issuer_names(&v1, &v2, None));
        let b_v2 = format!("https://login.microsoftonline.com/{B}/v2.0");
        assert!(!key_issuer_names(&v2, &b_v2, Some(B)));
        assert!(!key_issuer_names(&v1, &b_v2, Some(A)));
        assert!(key_issuer_names(
            "https://idp.example/",
            "https://idp.example/",
            None
        ));
        assert!(!key_issuer_names(
            "https://idp.example/",
            "https://idp.example/x",
            None
        ));
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
