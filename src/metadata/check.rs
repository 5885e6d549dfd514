//! `build()`'s checks of the metadata: its URLs, then the document rendered
//! with what the layer derives from its rules and DPoP settings.

use url::Url;

use super::ResourceMetadata;
use super::document::{Derived, Published};
use crate::config_error::ConfigError;
use crate::jwks::fetch;
use crate::policy::route::Rule;

/// Checks the metadata's URLs (`https`, or `http` on loopback when
/// allowed; no query, fragment or user info) and renders the document.
pub(crate) fn publish(
    meta: &ResourceMetadata,
    rules: &[Rule],
    dpop: bool,
    allow_http_loopback: bool,
) -> Result<Published, ConfigError> {
    let secure = |setting: &str, value: &str| -> Result<Url, ConfigError> {
        let parsed = Url::parse(value)
            .ok()
            .filter(|u| u.query().is_none() && u.fragment().is_none() && u.username().is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(
                    setting,
                    value,
                    format!("{value:?} is not a URL without query, fragment or user info"),
                )
            })?;
        fetch::check_url(&parsed, allow_http_loopback).map_err(|_| {
            ConfigError::invalid(
                setting,
                value,
                format!("{value:?} must be https (http only on loopback, when allowed)"),
            )
        })?;
        Ok(parsed)
    };
    let resource = secure("resource_metadata.resource", &meta.resource)?;
    for server in &meta.authorization_servers {
        secure("resource_metadata.authorization_servers", server)?;
    }
    if let Some(doc) = &meta.resource_documentation {
        secure("resource_metadata.resource_documentation", doc)?;
    }
    let mut rule_scopes: Vec<String> = Vec::new();
    for scope in rules.iter().flat_map(|r| r.scopes.iter()) {
        if !rule_scopes.contains(scope) {
            rule_scopes.push(scope.clone());
        }
    }
    let dpop_algs = dpop.then(|| {
        crate::jwks::SUPPORTED_ALGORITHMS
            .iter()
            .map(|alg| crate::dpop::proof::alg_name(*alg))
            .collect()
    });
    let derived = Derived {
        rule_scopes,
        dpop_algs,
        mtls_rule: rules.iter().any(|r| r.sender.requires_mtls()),
    };
    Ok(Published::new(meta, &resource, derived))
}
