//! Finding the bearer token in a request (RFC 6750 §2.1).
//!
//! Only the `Authorization` header is read by default; a named cookie can be
//! enabled for dashboards, and a [`TokenSource`] plugged in for anything
//! else. Query strings and bodies are never read unless such a source does.

use std::fmt;
use std::sync::Arc;

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, Uri};

use crate::error::Reason;

/// A place a bearer token may come from besides the `Authorization` header,
/// such as a WebSocket handshake (browsers cannot set headers on it).
///
/// A token found both here and in another place is a `400 invalid_request`;
/// the token must still match the RFC 6750 `b64token` grammar.
///
/// ```
/// use http::{HeaderMap, Uri};
/// use tower_mfa::TokenSource;
///
/// /// `Sec-WebSocket-Protocol: access_token, <token>`.
/// struct WebSocketProtocol;
///
/// impl TokenSource for WebSocketProtocol {
///     fn token<'r>(&self, headers: &'r HeaderMap, _uri: &'r Uri) -> Option<&'r str> {
///         let value = headers.get("sec-websocket-protocol")?.to_str().ok()?;
///         value.strip_prefix("access_token, ")
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// The token this request carries in this place, if any.
    fn token<'r>(&self, headers: &'r HeaderMap, uri: &'r Uri) -> Option<&'r str>;
}

/// Where tokens may come from, beyond the `Authorization` header.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    /// A cookie name to read the token from (off by default).
    pub(crate) cookie: Option<Box<str>>,
    /// A source of the application's own (none by default).
    pub(crate) custom: Option<Arc<dyn TokenSource>>,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("cookie", &self.cookie)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

/// The bearer token of a request.
///
/// A header with another scheme counts as no token (the answer is a bare
/// `Bearer` challenge); request-level faults are errors. The `b64token`
/// grammar of a header token is NOT checked here: the caller checks it with
/// [`is_b64token`] unless the exact token is already in the verified-token
/// cache (which only holds tokens that passed it).
pub(crate) fn bearer_token<'h>(
    headers: &'h HeaderMap,
    uri: &'h Uri,
    sources: &Sources,
) -> Result<&'h [u8], Reason> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let from_header = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => return Err(Reason::DuplicateAuthorization),
        (Some(value), None) => split_bearer(value.as_bytes())?,
    };
    let mut from_elsewhere = match &sources.cookie {
        Some(name) => cookie_token(headers, name)?,
        None => None,
    };
    if let Some(custom) = &sources.custom
        && let Some(token) = custom.token(headers, uri)
    {
        if from_elsewhere.is_some() {
            return Err(Reason::TokenSentTwice);
        }
        if !is_b64token(token.as_bytes()) {
            return Err(Reason::MalformedBearer);
        }
        from_elsewhere = Some(token);
    }
    match (from_header, from_elsewhere) {
        (Some(_), Some(_)) => Err(Reason::TokenSentTwice),
        (Some(t), None) => Ok(t),
        (None, Some(t)) => Ok(t.as_bytes()),
        (None, None) => {
            if headers.contains_key(AUTHORIZATION) {
                Err(Reason::OtherScheme)
            } else {
                Err(Reason::NoCredentials)
            }
        }
    }
}

/// Parses one `Authorization` value: `Ok(None)` for another scheme.
pub(crate) fn parse_authorization(value: &[u8]) -> Result<Option<&str>, Reason> {
    match split_bearer(value)? {
        Some(token) if is_b64token(token) => std::str::from_utf8(token)
            .map(Some)
            .map_err(|_| Reason::MalformedBearer),
        Some(_) => Err(Reason::MalformedBearer),
        None => Ok(None),
    }
}

/// The token of a request whose one `Authorization` header uses the `DPoP`
/// scheme (RFC 9449 §7.1: `DPoP 1*SP token68`, checked like `Bearer`);
/// `None` when it does not. A token also found in a cookie or custom source
/// is a `400`.
pub(crate) fn dpop_token<'h>(
    headers: &'h HeaderMap,
    uri: &'h Uri,
    sources: &Sources,
) -> Option<Result<&'h [u8], Reason>> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let token = match split_scheme(value.as_bytes(), b"dpop") {
        Ok(Some(token)) => token,
        Ok(None) => return None,
        Err(reason) => return Some(Err(reason)),
    };
    if !is_b64token(token) {
        return Some(Err(Reason::MalformedBearer));
    }
    // Any token elsewhere: the header is not Bearer, so it came from there.
    if bearer_token(headers, uri, sources).is_ok() {
        return Some(Err(Reason::TokenSentTwice));
    }
    Some(Ok(token))
}

/// `Bearer 1*SP <token>`: the scheme, at least one space, a non-empty rest
/// (its grammar unchecked). `Ok(None)` for another scheme.
fn split_bearer(value: &[u8]) -> Result<Option<&[u8]>, Reason> {
    split_scheme(value, b"bearer")
}

/// `<scheme> 1*SP <token>` for a lower-case `scheme`, compared
/// case-insensitively.
fn split_scheme<'v>(value: &'v [u8], scheme_name: &[u8]) -> Result<Option<&'v [u8]>, Reason> {
    let scheme_end = value
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(scheme_name) {
        return Ok(None);
    }
    // `Bearer 1*SP b64token`: at least one space, no tabs, nothing after.
    let token_start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    if token_start == 0 {
        return Err(Reason::MalformedBearer);
    }
    let token = &rest[token_start..];
    if token.is_empty() {
        return Err(Reason::MalformedBearer);
    }
    Ok(Some(token))
}

/// RFC 6750 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body_end = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    // Whole chunks without an early exit: the compiler checks each chunk
    // with vector compares (a token is about a kilobyte, on every request).
    body_end > 0
        && token[..body_end]
            .chunks(32)
            .all(|chunk| chunk.iter().fold(true, |ok, b| ok & is_b64token_char(*b)))
}

/// The `b64token` characters other than `=` (`-./0-9` is one range).
/// Written as wrapping range checks, which the compiler turns into vector
/// compares over a chunk.
fn is_b64token_char(b: u8) -> bool {
    (b.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'A') < 26)
        | (b.wrapping_sub(b'-') < 13)
        | (b == b'+')
        | (b == b'_')
        | (b == b'~')
}

fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Reason> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            let Some((key, value)) = pair.trim_matches(' ').split_once('=') else {
                continue;
            };
            if key != name {
                continue;
            }
            if found.is_some() {
                return Err(Reason::TokenSentTwice);
            }
            if !is_b64token(value.as_bytes()) {
                return Err(Reason::MalformedBearer);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_characters_are_exactly_the_grammar() {
        for b in 0..=255u8 {
            let grammar =
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            assert_eq!(is_b64token_char(b), grammar, "byte {b:#04x}");
        }
        // Every position of a long token is checked, in whole and partial chunks.
        for len in [1, 31, 32, 33, 64, 65, 1000] {
            let mut token = vec![b'a'; len];
            assert!(is_b64token(&token));
            for at in [0, len / 2, len - 1] {
                token[at] = b' ';
                assert!(!is_b64token(&token), "len {len}, bad byte at {at}");
                token[at] = b'a';
            }
        }
        assert!(is_b64token(b"abc=="));
        assert!(!is_b64token(b"=="));
        assert!(!is_b64token(b"a=b"));
    }

    #[test]
    fn scheme_is_case_insensitive_and_grammar_is_strict() {
        assert_eq!(
            parse_authorization(b"Bearer abc.def-_~+/=="),
            Ok(Some("abc.def-_~+/=="))
        );
        assert_eq!(parse_authorization(b"bEaReR   abc"), Ok(Some("abc")));
        assert_eq!(parse_authorization(b"Basic abc"), Ok(None));
        assert_eq!(parse_authorization(b"DPoP abc"), Ok(None));
        assert_eq!(parse_authorization(b"Bearer"), Err(Reason::MalformedBearer));
        assert_eq!(
            parse_authorization(b"Bearer "),
            Err(Reason::MalformedBearer)
        );
        assert_eq!(
            parse_authorization(b"Bearer\tabc"),
            Err(Reason::MalformedBearer)
        );
        assert_eq!(
            parse_authorization(b"Bearer abc "),
            Err(Reason::MalformedBearer)
        );
        assert_eq!(
            parse_authorization(b"Bearer a=b"),
            Err(Reason::MalformedBearer)
        );
        assert_eq!(
            parse_authorization(b"Bearer ==="),
            Err(Reason::MalformedBearer)
        );
        assert_eq!(
            parse_authorization("Bearer é".as_bytes()),
            Err(Reason::MalformedBearer)
        );
    }
}
