//! `[[issuers]]` tables: the trusted issuers of a layer, each an [`Issuer`].

use std::time::Duration;

use super::schema::IssuerFile;
use crate::config_error::ConfigError;
use crate::issuer::Issuer;
use crate::layer::Builder;

/// Adds the file's `[[issuers]]` to the builder, in order. Mixing them with
/// the top-level one-issuer keys is refused by [`Builder::build`].
pub(super) fn trust(mut b: Builder, list: Vec<IssuerFile>) -> Result<Builder, ConfigError> {
    for (i, file) in list.into_iter().enumerate() {
        b = b.trust(issuer(file, i)?);
    }
    Ok(b)
}

fn issuer(f: IssuerFile, i: usize) -> Result<Issuer, ConfigError> {
    let mut issuer = Issuer::new(f.name, f.issuer);
    for aud in f.audiences {
        issuer = issuer.audience(aud);
    }
    let sources = [
        ("jwks_url", f.jwks_url.is_some()),
        ("discovery_url", f.discovery_url.is_some()),
        ("static_jwks", f.static_jwks.is_some()),
    ];
    let mut given = sources.iter().filter(|(_, set)| *set).map(|(key, _)| *key);
    if let (Some(first), Some(second)) = (given.next(), given.next()) {
        return Err(ConfigError::Conflict { first, second });
    }
    if let Some(url) = f.jwks_url {
        issuer = issuer.jwks_url(url);
    }
    if let Some(url) = f.discovery_url {
        issuer = issuer.discovery_url(url);
    }
    if let Some(jwks) = f.static_jwks {
        issuer = issuer.static_jwks(jwks.as_bytes()).map_err(|_| {
            ConfigError::invalid(
                format!("issuers[{i}].static_jwks"),
                format!("{} bytes", jwks.len()),
                "the document is not a JSON object with a `keys` array",
            )
        })?;
    }
    if let Some(t) = f.tenants {
        issuer = issuer.allow_tenants(t.allow).deny_tenants(t.deny);
    }
    if let Some(yes) = f.strict_rfc9068 {
        issuer = issuer.strict_rfc9068(yes);
    }
    if let Some(secs) = f.leeway_seconds {
        issuer = issuer.leeway(Duration::from_secs(secs));
    }
    if let Some(secs) = f.refresh_cooldown_seconds {
        issuer = issuer.refresh_cooldown(Duration::from_secs(secs));
    }
    if let Some(secs) = f.refresh_interval_seconds {
        issuer = issuer.refresh_interval(Duration::from_secs(secs));
    }
    Ok(issuer)
}
