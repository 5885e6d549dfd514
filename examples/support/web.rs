//! Plain HTTP pieces the browser examples share: settings from the
//! environment, the listener, redirects, return paths and cookies.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tower_mfa::Claims;

/// An environment variable, `None` when unset or empty.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// An environment variable that must be set.
pub fn required(name: &str) -> Result<String, String> {
    env(name).ok_or_else(|| format!("{name} is required"))
}

/// Logs to stderr, `RUST_LOG` or else `default` deciding what.
pub fn init_tracing(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Listens on `TOWER_MFA_ADDR` (default `127.0.0.1:3000`); returns the
/// listener, its base URL and the redirect URI (`TOWER_MFA_REDIRECT_URI`,
/// default `<base>/callback`).
pub async fn listen()
-> Result<(tokio::net::TcpListener, String, String), Box<dyn std::error::Error>> {
    let addr: SocketAddr = env("TOWER_MFA_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let redirect_uri = env("TOWER_MFA_REDIRECT_URI").unwrap_or_else(|| format!("{base}/callback"));
    Ok((listener, base, redirect_uri))
}

/// `router` with a trace of every request, credentials and cookies hidden
/// from it.
pub fn traced(router: Router) -> Router {
    router
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("set-cookie"),
        ]))
}

/// A name for the user: `preferred_username` (Entra v2), `upn` (v1), else `sub`.
pub fn user_of(claims: &Claims) -> &str {
    claims
        .get("preferred_username")
        .and_then(|v| v.as_str())
        .or_else(|| claims.upn())
        .or_else(|| claims.subject())
        .unwrap_or("?")
}

/// A `303 See Other` to `location`, never cached, setting `cookie` if any.
pub fn see_other(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether `request` comes from a browser: a `GET` with `text/html` in `Accept`.
pub fn is_browser(request: &Request) -> bool {
    request.method() == http::Method::GET
        && request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("text/html"))
}

/// The path and query of `request`, to come back to after sign-in.
pub fn path_of(request: &Request) -> String {
    request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned()
}

/// Sends the browser to sign in and then back to `path`.
pub fn to_login(path: &str) -> Response {
    let to: String =
        url::form_urlencoded::byte_serialize(local_path(Some(path)).as_bytes()).collect();
    see_other(&format!("/login?return_to={to}"), None)
}

/// `return_to` only ever names a path of this site: `/x`, never `//host`,
/// `/\host`, `https://host` or anything with control characters. Anything
/// else becomes `/dashboard` (no open redirect).
pub fn local_path(return_to: Option<&str>) -> String {
    match return_to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && p.len() <= 2048 =>
        {
            p.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

/// The value of the request cookie `name`.
pub fn request_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn return_to_is_a_local_path() {
        assert_eq!(
            local_path(Some("/dashboard/customers?x=1")),
            "/dashboard/customers?x=1"
        );
        for bad in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil.test",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(Some(bad)), "/dashboard", "{bad:?}");
        }
        assert_eq!(local_path(None), "/dashboard");
    }
}
