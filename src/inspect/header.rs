//! The header checks of a report: each check the layer applies to a JWS
//! header, with what the header holds.

use serde_json::{Map, Value};

use super::report::HeaderCheck;
use crate::jwks::SUPPORTED_ALGORITHMS;
use crate::token::jws::{self, REJECTED_HEADER_PARAMS, TypPolicy};

/// The layer's header checks, in its order, on a decoded header.
pub(super) fn checks(header: &Map<String, Value>, typ: TypPolicy) -> Vec<HeaderCheck> {
    let shown = |name: &str| {
        header
            .get(name)
            .map_or_else(|| "absent".to_owned(), Value::to_string)
    };
    let allowed = SUPPORTED_ALGORITHMS
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let present = |list: &[&str]| {
        let found: Vec<&str> = list
            .iter()
            .copied()
            .filter(|p| header.contains_key(*p))
            .collect();
        if found.is_empty() {
            "none present".to_owned()
        } else {
            format!("present: {}", found.join(", "))
        }
    };
    let accepted_typ = match typ {
        TypPolicy::Lenient => "JWT, at+jwt, application/at+jwt or absent",
        TypPolicy::Rfc9068 => "at+jwt or application/at+jwt (strict RFC 9068)",
    };
    vec![
        HeaderCheck {
            name: "alg",
            detail: format!("{} (allowed: {allowed}; never none or HMAC)", shown("alg")),
            result: jws::check_alg(header).map(|_| ()),
        },
        HeaderCheck {
            name: "crit/zip/cty",
            detail: format!(
                "{} (rejected: {})",
                present(REJECTED_HEADER_PARAMS),
                REJECTED_HEADER_PARAMS.join(", ")
            ),
            result: jws::check_params(header),
        },
        HeaderCheck {
            name: "typ",
            detail: format!("{} (accepted: {accepted_typ})", shown("typ")),
            result: jws::check_typ(header, typ),
        },
        HeaderCheck {
            name: "kid",
            detail: shown("kid"),
            result: jws::check_kid(header).map(|_| ()),
        },
        HeaderCheck {
            name: "jku/x5u/jwk/x5c",
            detail: format!(
                "{} (ignored: never fetched, never trusted)",
                present(&["jku", "x5u", "jwk", "x5c"])
            ),
            result: Ok(()),
        },
    ]
}
