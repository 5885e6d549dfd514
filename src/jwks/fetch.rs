//! Fetching key sets and discovery documents over HTTP, hardened: https only
//! (loopback http when allowed), a timeout, a body size cap, and no redirect
//! to another host.

use std::time::Duration;

use http::header::CACHE_CONTROL;
use url::Url;

/// Limits that apply to every fetch.
#[derive(Debug, Clone)]
pub(crate) struct FetchPolicy {
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) allow_http_loopback: bool,
}

/// Why a fetch failed. Logged, never shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchError {
    InsecureUrl,
    Transport,
    Timeout,
    Status(u16),
    TooLarge,
    Redirected,
    Malformed,
    IssuerMismatch,
}

impl FetchError {
    pub(crate) fn describe(self) -> String {
        match self {
            Self::InsecureUrl => "the URL is not https (nor allowed loopback http)".into(),
            Self::Transport => "the connection failed".into(),
            Self::Timeout => "the request timed out".into(),
            Self::Status(code) => format!("the server answered HTTP {code}"),
            Self::TooLarge => "the document exceeds the size limit".into(),
            Self::Redirected => "the server redirected to another host".into(),
            Self::Malformed => "the document is not a valid key set or discovery document".into(),
            Self::IssuerMismatch => "the discovery document names another issuer".into(),
        }
    }
}

/// A fetched body and the freshness the server gave it.
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<Duration>,
}

/// Whether `url` may be fetched under `policy`.
pub(crate) fn check_url(url: &Url, allow_http_loopback: bool) -> Result<(), FetchError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback && is_loopback(url) => Ok(()),
        _ => Err(FetchError::InsecureUrl),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Same scheme, host and port: a redirect to another port of the same host
/// reaches another service, so it counts as another host.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The default client: rustls, no redirects followed to other origins.
///
/// # Errors
/// When the TLS backend cannot be set up.
pub(crate) fn default_client(policy: &FetchPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            let stays = attempt
                .previous()
                .first()
                .is_some_and(|first| same_origin(first, attempt.url()));
            if attempt.previous().len() > 3 || !stays {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }))
        .build()
}

/// GETs `url`, with the policy's limits, whatever the client's own settings.
pub(crate) async fn get(
    client: &reqwest::Client,
    url: &Url,
    policy: &FetchPolicy,
) -> Result<Fetched, FetchError> {
    check_url(url, policy.allow_http_loopback)?;
    let fetch = async {
        let mut response = client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(classify)?;
        if !same_origin(response.url(), url) {
            return Err(FetchError::Redirected);
        }
        check_url(response.url(), policy.allow_http_loopback)?;
        let status = response.status();
        if !status.is_success() {
            return Err(if status.is_redirection() {
                FetchError::Redirected
            } else {
                FetchError::Status(status.as_u16())
            });
        }
        if response
            .content_length()
            .is_some_and(|len| len > policy.max_bytes as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > policy.max_bytes {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    };
    // The overall deadline holds even for a user-supplied client without one,
    // and for a server that trickles its body.
    tokio::time::timeout(policy.timeout, fetch)
        .await
        .unwrap_or(Err(FetchError::Timeout))
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_redirect() {
        FetchError::Redirected
    } else {
        FetchError::Transport
    }
}

/// `max-age` from a `Cache-Control` value (`no-store`/`no-cache` mean zero).
pub(crate) fn parse_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        if let Some((name, v)) = directive.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
        {
            max_age = v
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// Reads `jwks_uri` from an OIDC discovery document, checking its `issuer`.
pub(crate) fn jwks_uri_from_discovery(
    body: &[u8],
    expected_issuer: Option<&str>,
) -> Result<Url, FetchError> {
    #[derive(serde::Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let doc: Discovery = serde_json::from_slice(body).map_err(|_| FetchError::Malformed)?;
    if expected_issuer.is_some_and(|expected| doc.issuer != expected) {
        return Err(FetchError::IssuerMismatch);
    }
    Url::parse(&doc.jwks_uri).map_err(|_| FetchError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read() {
        assert_eq!(
            parse_max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }

    #[test]
    fn redirects_stay_on_one_origin() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(
            &url("https://a.test/x"),
            &url("https://a.test:443/y")
        ));
        assert!(!same_origin(
            &url("https://a.test/x"),
            &url("https://a.test:8443/x")
        ));
        assert!(!same_origin(
            &url("https://a.test/x"),
            &url("https://b.a.test/x")
        ));
        assert!(!same_origin(
            &url("http://127.0.0.1:1/"),
            &url("http://localhost:1/")
        ));
        assert!(!same_origin(
            &url("http://127.0.0.1:1/"),
            &url("https://127.0.0.1:1/")
        ));
    }

    #[test]
    fn only_https_or_allowed_loopback() {
        let http = Url::parse("http://127.0.0.1:1/jwks").unwrap();
        let remote = Url::parse("http://example.test/jwks").unwrap();
        let https = Url::parse("https://example.test/jwks").unwrap();
        assert!(check_url(&http, false).is_err());
        assert!(check_url(&http, true).is_ok());
        assert!(check_url(&remote, true).is_err());
        assert!(check_url(&https, false).is_ok());
    }
}
