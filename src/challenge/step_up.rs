//! The browser step-up redirect: the step-up URL checked when the layer is
//! built, and the `Location` with a return path that stays on the site.

use http::HeaderValue;

/// Checks a step-up URL when the layer is built: an `http(s)` URL or a path
/// from the root, which renders as a `Location` header.
pub(crate) fn check(url: &str) -> Result<(), &'static str> {
    let absolute = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
    let rooted_path = url.starts_with('/') && !url.starts_with("//");
    if !absolute && !rooted_path {
        return Err("is neither an http(s) URL nor a path starting with '/'");
    }
    HeaderValue::from_str(&location(url, "/"))
        .map(drop)
        .map_err(|_| "cannot be sent in a Location header (control or non-ASCII characters)")
}

/// A return path that stays on the site: a path that does not start with
/// `/` becomes `/`, and a leading run of `/`, `\` (which browsers read as
/// `/`) and tab or line breaks (which browsers drop) becomes one `/`, so
/// `//evil.example` or `/\evil.example` can never be read as another host.
fn same_site_path(return_to: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = return_to.strip_prefix('/') else {
        return "/".into();
    };
    let trimmed = rest.trim_start_matches(['/', '\\', '\t', '\n', '\r']);
    if trimmed.len() == rest.len() {
        return_to.into()
    } else {
        format!("/{trimmed}").into()
    }
}

/// The step-up URL with the return path (made [same-site](same_site_path)):
/// `{return_to}` is replaced when the URL holds it, else `return_to=` is
/// appended as a query parameter.
pub(super) fn location(step_up: &str, return_to: &str) -> String {
    let return_to = same_site_path(return_to);
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    if step_up.contains("{return_to}") {
        step_up.replace("{return_to}", &encoded)
    } else {
        let sep = if step_up.contains('?') { '&' } else { '?' };
        format!("{step_up}{sep}return_to={encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_urls_are_checked() {
        assert!(check("https://idp.test/step-up?to={return_to}").is_ok());
        assert!(check("/step-up").is_ok());
        assert!(check("step-up").is_err());
        assert!(check("//evil.test/x").is_err());
        assert!(check("javascript:alert(1)").is_err());
        assert!(check("/step-up\nx").is_err());
        assert!(check("/step\u{7f}up").is_err());
    }

    #[test]
    fn step_up_carries_the_return_path() {
        assert_eq!(
            location("https://idp.test/step-up", "/dashboard/customers?x=1"),
            "https://idp.test/step-up?return_to=%2Fdashboard%2Fcustomers%3Fx%3D1"
        );
        assert_eq!(
            location("/login?a=b&to={return_to}", "/x"),
            "/login?a=b&to=%2Fx"
        );
    }

    #[test]
    fn step_up_return_path_stays_on_the_site() {
        for (path, expected) in [
            ("//evil.example", "%2Fevil.example"),
            ("//evil.example/x", "%2Fevil.example%2Fx"),
            ("///evil.example", "%2Fevil.example"),
            ("/\\evil.example", "%2Fevil.example"),
            ("/\\\\evil.example", "%2Fevil.example"),
            ("/\\/evil.example", "%2Fevil.example"),
            ("/\t/evil.example", "%2Fevil.example"),
            ("evil.example", "%2F"),
            ("", "%2F"),
            // Unchanged: encoded forms and dot segments stay paths.
            ("/%2F%2Fevil.example", "%2F%252F%252Fevil.example"),
            ("/./evil.example", "%2F.%2Fevil.example"),
            ("/a//b?c=//d", "%2Fa%2F%2Fb%3Fc%3D%2F%2Fd"),
        ] {
            assert_eq!(
                location("/step-up", path),
                format!("/step-up?return_to={expected}"),
                "{path:?}"
            );
        }
    }
}
