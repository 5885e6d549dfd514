//! The `htu` comparison (RFC 9449 §4.3): the proof's URI against the
//! request's public URI, both normalised as RFC 3986 §6.2.2-6.2.3 says
//! (scheme and host case-insensitive, default port elided, dot segments
//! removed); the path is then compared exactly. The proof's `htu` carries
//! no query and no fragment.

use http::HeaderMap;
use url::Url;

/// The normalised `scheme://host[:port]/path` of an absolute http(s) URI
/// without query or fragment; `None` for anything else.
pub(crate) fn normalise(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    url.host_str()?;
    Some(url.into())
}

/// Whether a configured origin is an absolute http(s) URL with nothing after
/// the authority (a `/` path at most).
pub(crate) fn is_origin(origin: &str) -> bool {
    Url::parse(origin).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && !origin.ends_with("/")
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
    })
}

/// The public origin of a request: `X-Forwarded-Proto` and `X-Forwarded-Host`
/// when trusted and both present exactly once with one value, else the
/// configured origin.
pub(crate) fn origin<'a>(
    configured: Option<&'a str>,
    trust_forwarded: bool,
    headers: &HeaderMap,
) -> Option<std::borrow::Cow<'a, str>> {
    if trust_forwarded
        && let (Some(proto), Some(host)) = (
            single(headers, "x-forwarded-proto"),
            single(headers, "x-forwarded-host"),
        )
    {
        return Some(format!("{proto}://{host}").into());
    }
    configured.map(std::borrow::Cow::Borrowed)
}

/// One header value, without a list separator.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let value = value.to_str().ok()?.trim();
    (!value.is_empty() && !value.contains(',')).then_some(value)
}

/// The normalised URI a proof for this request must name: `origin` plus the
/// path the client asked for.
pub(crate) fn expected(origin: &str, path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    normalise(&format!("{origin}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_host_and_default_port_are_normalised() {
        let want = normalise("https://api.example.com/v1/x");
        assert!(want.is_some());
        assert_eq!(normalise("HTTPS://API.Example.COM/v1/x"), want);
        assert_eq!(normalise("https://api.example.com:443/v1/x"), want);
        assert_eq!(normalise("https://api.example.com/v1/./y/../x"), want);
        assert_ne!(normalise("https://api.example.com:8443/v1/x"), want);
        assert_ne!(normalise("https://api.example.com/v1/X"), want);
        assert_ne!(normalise("https://api.example.com/v1/x/"), want);
        assert_ne!(normalise("http://api.example.com/v1/x"), want);
    }

    #[test]
    fn query_fragment_and_other_schemes_are_refused() {
        assert_eq!(normalise("https://a.example/x?"), None);
        assert_eq!(normalise("https://a.example/x?q=1"), None);
        assert_eq!(normalise("https://a.example/x#f"), None);
        assert_eq!(normalise("ftp://a.example/x"), None);
        assert_eq!(normalise("https://u:p@a.example/x"), None);
        assert_eq!(normalise("/x"), None);
    }

    #[test]
    fn origins_and_forwarding() {
        assert!(is_origin("https://api.example.com"));
        assert!(is_origin("http://127.0.0.1:8080"));
        assert!(!is_origin("https://api.example.com/"));
        assert!(!is_origin("https://api.example.com/base"));
        assert!(!is_origin("api.example.com"));
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "edge.example".parse().unwrap());
        assert_eq!(
            origin(Some("https://a"), false, &headers).as_deref(),
            Some("https://a")
        );
        assert_eq!(
            origin(None, true, &headers).as_deref(),
            Some("https://edge.example")
        );
        headers.append("x-forwarded-host", "evil.example".parse().unwrap());
        assert_eq!(origin(None, true, &headers), None);
        assert_eq!(
            expected("https://a.example", "/v1").as_deref(),
            Some("https://a.example/v1")
        );
        assert_eq!(expected("https://a.example", "v1"), None);
    }
}
