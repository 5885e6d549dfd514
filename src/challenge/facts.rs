//! [`Facts`]: what about a request shapes its answer (gRPC, a browser, a
//! client able to answer a claims challenge).

use http::HeaderMap;
use http::header::CONTENT_TYPE;

use super::hooks::IsBrowser;

/// Facts about the request that shape the answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    pub(crate) grpc: bool,
    pub(crate) html: bool,
    /// The token says its client can answer a claims challenge (`xms_cc`
    /// holds `cp1`).
    pub(crate) cp1: bool,
}

impl Facts {
    /// The facts of a request; `browser` replaces the default browser test.
    pub(crate) fn of(headers: &HeaderMap, browser: Option<&dyn IsBrowser>) -> Self {
        let grpc = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_grpc_content_type);
        let html = !grpc
            && match browser {
                Some(browser) => browser.is_browser(headers),
                None => headers
                    .get_all(http::header::ACCEPT)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(accepts_html),
            };
        Self {
            grpc,
            html,
            cp1: false,
        }
    }
}

/// `application/grpc`, `application/grpc+proto`, `application/grpc+json`, ...
fn is_grpc_content_type(value: &str) -> bool {
    let media = value.split(';').next().unwrap_or("").trim();
    media.len() >= 16
        && media[..16].eq_ignore_ascii_case("application/grpc")
        && (media.len() == 16 || media.as_bytes()[16] == b'+')
}

/// Whether an `Accept` value explicitly lists `text/html` (with q > 0).
fn accepts_html(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("text/html")
            && !parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        assert!(is_grpc_content_type("application/grpc"));
        assert!(is_grpc_content_type("application/grpc+proto"));
        assert!(is_grpc_content_type("Application/GRPC+json; charset=utf-8"));
        assert!(!is_grpc_content_type("application/grpc-web"));
        assert!(!is_grpc_content_type("application/json"));
    }

    #[test]
    fn html_must_be_explicit() {
        assert!(accepts_html("text/html,application/xhtml+xml,*/*;q=0.8"));
        assert!(!accepts_html("*/*"));
        assert!(!accepts_html("application/json"));
        assert!(!accepts_html("text/html;q=0"));
    }
}
