//! The examples' shared configuration: trust a real issuer when
//! `TOWER_MFA_ISSUER` is set.

use tower_mfa::{Builder, RequireMfaLayer};

/// A builder trusting the issuer named by `TOWER_MFA_ISSUER`,
/// `TOWER_MFA_AUDIENCE` and `TOWER_MFA_JWKS_URL` (or
/// `TOWER_MFA_DISCOVERY_URL`); `None` when `TOWER_MFA_ISSUER` is unset.
/// Loopback `http` is allowed, for a local identity provider.
#[allow(dead_code)] // Not every example uses both entry points.
pub fn from_env() -> Result<Option<Builder>, Box<dyn std::error::Error + Send + Sync>> {
    apply(RequireMfaLayer::builder())
}

/// Whether `TOWER_MFA_ISSUER` names a real issuer.
#[allow(dead_code)] // Not every example uses it.
pub fn is_set() -> bool {
    std::env::var_os("TOWER_MFA_ISSUER").is_some()
}

/// [`from_env`]'s settings applied to `builder` (say, one read from a
/// configuration file); `None` when `TOWER_MFA_ISSUER` is unset.
#[allow(dead_code)] // Not every example uses both entry points.
pub fn apply(
    builder: Builder,
) -> Result<Option<Builder>, Box<dyn std::error::Error + Send + Sync>> {
    let Ok(issuer) = std::env::var("TOWER_MFA_ISSUER") else {
        return Ok(None);
    };
    let audience = std::env::var("TOWER_MFA_AUDIENCE")
        .map_err(|_| "TOWER_MFA_AUDIENCE is required with TOWER_MFA_ISSUER")?;
    let builder = builder
        .issuer(issuer.clone())
        .audience(audience)
        .allow_http_loopback(true);
    let builder = if let Ok(jwks) = std::env::var("TOWER_MFA_JWKS_URL") {
        builder.jwks_url(jwks)
    } else if let Ok(discovery) = std::env::var("TOWER_MFA_DISCOVERY_URL") {
        builder.discovery_url(discovery)
    } else {
        return Err("set TOWER_MFA_JWKS_URL or TOWER_MFA_DISCOVERY_URL".into());
    };
    println!("trusting issuer {issuer}");
    Ok(Some(builder))
}
