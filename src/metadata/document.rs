//! The rendered metadata document, where it is published, and the answer to
//! a request for it.

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Response, StatusCode};
use url::Url;

use super::{ResourceMetadata, WELL_KNOWN_RESOURCE_METADATA};
use crate::body::ResponseBody;

/// The document of one layer, rendered once.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// The path the document is answered on.
    path: String,
    /// The absolute URL of the document (the challenges' `resource_metadata`).
    url: String,
    /// The JSON document.
    json: Bytes,
}

/// What the layer adds to the configured metadata.
pub(crate) struct Derived<'a> {
    /// The scopes the rules require, in order, each once.
    pub(crate) rule_scopes: Vec<String>,
    /// The DPoP proof algorithms, when DPoP is configured.
    pub(crate) dpop_algs: Option<Vec<&'a str>>,
    /// Whether a rule requires certificate-bound tokens.
    pub(crate) mtls_rule: bool,
}

/// The well-known path of `resource` (RFC 9728 §3.1): the well-known
/// segment between the host and the resource's path (a lone `/` dropped).
pub(crate) fn well_known_path(resource: &Url) -> String {
    match resource.path() {
        "" | "/" => WELL_KNOWN_RESOURCE_METADATA.to_owned(),
        path => format!("{WELL_KNOWN_RESOURCE_METADATA}{path}"),
    }
}

impl Published {
    /// Renders `meta` (already checked: `resource` parses) with what the
    /// layer derives from its own configuration.
    pub(crate) fn new(meta: &ResourceMetadata, resource: &Url, derived: Derived<'_>) -> Self {
        let path = well_known_path(resource);
        let url = format!("{}{path}", resource.origin().ascii_serialization());
        let mut doc = serde_json::Map::new();
        let mut put = |key: &str, value: serde_json::Value| {
            doc.insert(key.to_owned(), value);
        };
        put("resource", meta.resource.clone().into());
        if !meta.authorization_servers.is_empty() {
            put(
                "authorization_servers",
                meta.authorization_servers.clone().into(),
            );
        }
        let scopes = meta.scopes_supported.clone().unwrap_or(derived.rule_scopes);
        if !scopes.is_empty() {
            put("scopes_supported", scopes.into());
        }
        if !meta.bearer_methods_supported.is_empty() {
            put(
                "bearer_methods_supported",
                meta.bearer_methods_supported.clone().into(),
            );
        }
        if let Some(algs) = derived.dpop_algs {
            put("dpop_signing_alg_values_supported", algs.into());
        }
        if meta.tls_client_certificate_bound_access_tokens || derived.mtls_rule {
            put("tls_client_certificate_bound_access_tokens", true.into());
        }
        if let Some(name) = &meta.resource_name {
            put("resource_name", name.clone().into());
        }
        if let Some(doc_url) = &meta.resource_documentation {
            put("resource_documentation", doc_url.clone().into());
        }
        let json = serde_json::Value::Object(doc).to_string();
        Self {
            path,
            url,
            json: Bytes::from(json),
        }
    }

    /// Whether `path` (the original path, without query) is the document's.
    pub(crate) fn is_requested(&self, path: &str) -> bool {
        path == self.path
    }

    /// The absolute URL of the document.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The answer to a request for the document: `200` with the JSON for
    /// `GET`, the same headers without body for `HEAD`, `405` with `Allow`
    /// for any other method.
    pub(crate) fn answer<B>(&self, method: &Method) -> Response<ResponseBody<B>> {
        let head = method == Method::HEAD;
        if method != Method::GET && !head {
            let mut response = Response::new(ResponseBody::refusal(Bytes::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let body = if head {
            Bytes::new()
        } else {
            self.json.clone()
        };
        let mut response = Response::new(ResponseBody::refusal(body));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(self.json.len()),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn well_known_paths() {
        assert_eq!(
            well_known_path(&url("https://api.example.com")),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            well_known_path(&url("https://api.example.com/")),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            well_known_path(&url("https://api.example.com/v1/customers")),
            "/.well-known/oauth-protected-resource/v1/customers"
        );
    }

    #[test]
    fn document_lists_what_is_configured_and_derived() {
        let meta = ResourceMetadata::new("https://api.example.com:8443/v1")
            .authorization_server("https://idp.example.com/")
            .resource_name("Customers");
        let resource = url(&meta.resource);
        let published = Published::new(
            &meta,
            &resource,
            Derived {
                rule_scopes: vec!["a".into(), "b".into()],
                dpop_algs: Some(vec!["ES256"]),
                mtls_rule: true,
            },
        );
        assert_eq!(
            published.url(),
            "https://api.example.com:8443/.well-known/oauth-protected-resource/v1"
        );
        assert!(published.is_requested("/.well-known/oauth-protected-resource/v1"));
        assert!(!published.is_requested("/.well-known/oauth-protected-resource"));
        let doc: serde_json::Value = serde_json::from_slice(&published.json).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "resource": "https://api.example.com:8443/v1",
                "authorization_servers": ["https://idp.example.com/"],
                "scopes_supported": ["a", "b"],
                "bearer_methods_supported": ["header"],
                "dpop_signing_alg_values_supported": ["ES256"],
                "tls_client_certificate_bound_access_tokens": true,
                "resource_name": "Customers",
            })
        );
    }
}
