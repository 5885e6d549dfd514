//! Token inspection: decode a bearer token and explain what
//! [`RequireMfaLayer`](crate::RequireMfaLayer) would answer (feature `cli`;
//! the `tower-mfa inspect` command prints it).
//!
//! The usual advice, "use a JWT decoder to check the `amr` value", as a
//! tool that tells what the API will answer and why.
//!
//! With a configured layer, [`inspect_route`] judges one request (method,
//! path, token) by running the layer's own pipeline steps: rule selection,
//! token extraction, verification (keys, signature, issuer, audience,
//! tenant lists, times), authorization (scopes, roles, MFA, exemptions,
//! report-only and `enforce_from`) and the answer (status and
//! `WWW-Authenticate`). Its [`Report::route`] is exactly the layer's answer;
//! the differential test `tests/inspect_differential.rs` holds the two
//! side by side.
//!
//! Without a configuration, [`inspect`], [`inspect_with_keys`] and
//! [`inspect_with_jwks`] judge the token alone, as on an `mfa` route: the
//! header checks, the strict JSON parse, the claim types, the time, issuer
//! and audience checks, the caller classification and the MFA policy are
//! the functions the layer calls, and with keys the signature is verified as
//! the layer does (key by `kid`, the key's one algorithm, aws-lc-rs).
//!
//! ```
//! use tower_mfa::inspect::{Options, inspect};
//!
//! // {"alg":"none"} . {"amr":["pwd"]} . (no signature)
//! let report = inspect("eyJhbGciOiJub25lIn0.eyJhbXIiOlsicHdkIl19.x", &Options::default())?;
//! assert!(!report.verdict.passes());
//! assert_eq!(report.verdict.answer(), "401 invalid_token: the token's algorithm is not allowed (unsupported_algorithm)");
//! println!("{report}");
//! # Ok::<(), tower_mfa::inspect::Error>(())
//! ```
//!
//! Without keys the signature is *not* checked: a "would pass" verdict then
//! only says that nothing else would refuse the token. Issuer and audience
//! are compared only when [`Options::issuer`] and [`Options::audiences`] are
//! given (their presence and types are always checked, as the layer does).
//! Route rules, tenant lists and exemptions are configuration: only
//! [`inspect_route`] applies them.

mod dpop;
mod header;
mod json;
mod render;
mod report;
mod route;

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::claims::Claims;
use crate::error::Reason;
use crate::jwks::KeySet;
use crate::jwks::fetch::{self, FetchPolicy};
use crate::layer::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_TOKEN_LEN};
use crate::policy::caller::{AppOnly, classify_explained};
use crate::policy::mfa::{MfaPolicy, check_mfa_route};
use crate::time::unix_seconds;
use crate::token::extract::is_b64token;
use crate::token::jws::{self, TypPolicy};
use crate::token::validate::{
    IssuerMatch, TenantFilter, Validation, check_key_issuer, check_times, validate,
};

pub use dpop::DpopReport;
pub use render::Rendered;
pub use report::{HeaderCheck, Report, Signature, Times, Verdict};
pub use route::{ExemptionUse, Outcome, RouteVerdict, Step, StepState};

/// What to check a token against. The defaults are the layer's defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// What counts as MFA proof (default: [`MfaPolicy::default`]).
    pub mfa: MfaPolicy,
    /// What `mfa` routes do with app-only callers (default: allow).
    pub app_only: AppOnly,
    /// The issuer to compare `iss` with (exact, or a `{tenantid}` template);
    /// `None`: not compared.
    pub issuer: Option<String>,
    /// Accepted audiences; empty: `aud` is not compared.
    pub audiences: Vec<String>,
    /// RFC 9068 strict `typ` (`at+jwt` or `application/at+jwt` only).
    pub strict_rfc9068: bool,
    /// Clock skew allowed on `exp`, `nbf`, `iat` (default 60 s).
    pub leeway: Duration,
    /// Longest accepted `exp - now` (default 48 h).
    pub max_lifetime: Duration,
    /// Cap on the token's length (default 16 KiB).
    pub max_token_len: usize,
    /// The time to judge at; `None`: now.
    pub now: Option<SystemTime>,
    /// A DPoP proof sent with the token, to check against it.
    pub dpop_proof: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mfa: MfaPolicy::default(),
            app_only: AppOnly::Allow,
            issuer: None,
            audiences: Vec::new(),
            strict_rfc9068: false,
            leeway: DEFAULT_LEEWAY,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            now: None,
            dpop_proof: None,
        }
    }
}

/// Why there is no report: the input or the keys, not the token's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input holds no token (empty, or only `Bearer`).
    EmptyInput,
    /// The JWKS URL is not a URL, or not https (nor allowed loopback http).
    InsecureUrl(String),
    /// Fetching the key set failed.
    Fetch(String),
    /// The key set document is not a JSON object with a `keys` array.
    InvalidJwks,
    /// The path to judge is not an absolute path (`/v1/customers`).
    InvalidPath(String),
    /// The token cannot be sent in an HTTP header (control characters).
    NotAHeaderValue,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyInput => f.write_str("no token given (empty input)"),
            Self::InsecureUrl(url) => write!(
                f,
                "{url:?} is not an https URL (http only on loopback, with --allow-http-loopback)"
            ),
            Self::Fetch(why) => write!(f, "fetching the key set failed: {why}"),
            Self::InvalidJwks => {
                f.write_str("the key set is not a JSON object with a `keys` array")
            }
            Self::InvalidPath(path) => write!(f, "{path:?} is not an absolute path"),
            Self::NotAHeaderValue => {
                f.write_str("the token holds characters an HTTP header cannot carry")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Inspects a token without keys: everything but the signature.
///
/// `token` may carry surrounding whitespace and a leading `Bearer `.
///
/// # Errors
/// [`Error::EmptyInput`] when there is no token. A bad token is not an
/// error: its report says why the layer would refuse it.
pub fn inspect(token: &str, opts: &Options) -> Result<Report, Error> {
    run(token, opts, None)
}

/// Inspects a token and verifies its signature with these keys.
///
/// # Errors
/// As [`inspect`].
pub fn inspect_with_keys(token: &str, opts: &Options, keys: &KeySet) -> Result<Report, Error> {
    run(token, opts, Some(keys))
}

/// Fetches the key set at `url` and inspects the token with it.
///
/// # Errors
/// As [`fetch_jwks`] and [`inspect`].
pub async fn inspect_with_jwks(
    token: &str,
    opts: &Options,
    url: &str,
    allow_http_loopback: bool,
) -> Result<Report, Error> {
    normalize(token)?;
    let keys = fetch_jwks(url, allow_http_loopback).await?;
    inspect_with_keys(token, opts, &keys)
}

/// Judges `METHOD path` with this token exactly as `layer` does: the
/// layer's own pipeline steps (rule selection, token extraction,
/// verification with its keys, tenant lists, scopes, roles, MFA,
/// exemptions, report-only and `enforce_from`, and the answer), at the
/// layer's clock. The report's [`Report::route`] holds the verdict, status
/// and `WWW-Authenticate` value; the rest of the report decodes the token
/// for the details.
///
/// The steps have the layer's side effects but no decision event: a
/// verified token enters the layer's token cache, an unknown `kid` fetches
/// keys, and an exemption that applies is audited (target
/// `tower_mfa::audit`) as every use is. Judge with a layer built for the
/// purpose when that matters (the `tower-mfa` binary builds its own).
///
/// # Errors
/// [`Error::EmptyInput`], [`Error::InvalidPath`] or
/// [`Error::NotAHeaderValue`]; a refused request is not an error.
pub async fn inspect_route(
    token: &str,
    layer: &crate::RequireMfaLayer,
    method: http::Method,
    path: &str,
) -> Result<Report, Error> {
    let token = normalize(token)?;
    let route = route::judge(layer, token, method, path).await?;
    let opts = Options {
        now: Some(route.now),
        ..Options::default()
    };
    let mut report = run(token, &opts, None)?;
    report.verdict = match route.reason {
        Some(reason) if !route.passes() => Verdict::Refused(reason),
        _ => Verdict::Pass,
    };
    report.route = Some(route);
    Ok(report)
}

/// Fetches a JWK Set with the layer's hardened fetch: https only (loopback
/// http when allowed), a 10 s timeout, a 512 KiB cap, no redirect to
/// another origin. Unusable keys are skipped, as the layer does.
///
/// # Errors
/// When the URL is invalid or insecure, the fetch fails, or the document
/// is not a JWK Set.
pub async fn fetch_jwks(url: &str, allow_http_loopback: bool) -> Result<KeySet, Error> {
    let parsed = url::Url::parse(url).map_err(|_| Error::InsecureUrl(url.to_owned()))?;
    fetch::check_url(&parsed, allow_http_loopback)
        .map_err(|_| Error::InsecureUrl(url.to_owned()))?;
    let policy = FetchPolicy {
        timeout: Duration::from_secs(10),
        max_bytes: 512 * 1024,
        allow_http_loopback,
    };
    let client = fetch::default_client(&policy).map_err(|e| Error::Fetch(e.to_string()))?;
    let fetched = fetch::get(&client, &parsed, &policy)
        .await
        .map_err(|e| Error::Fetch(e.describe()))?;
    parse_jwks(&fetched.body)
}

/// Parses a JWK Set document (e.g. a file), skipping unusable keys.
///
/// # Errors
/// [`Error::InvalidJwks`] when it is not a JSON object with a `keys` array.
pub fn parse_jwks(bytes: &[u8]) -> Result<KeySet, Error> {
    KeySet::parse(bytes).map_err(|_| Error::InvalidJwks)
}

/// Trims whitespace and an optional `Bearer ` scheme.
fn normalize(input: &str) -> Result<&str, Error> {
    let mut token = input.trim();
    if let Some((scheme, rest)) = token.split_once([' ', '\t'])
        && scheme.eq_ignore_ascii_case("bearer")
    {
        token = rest.trim();
    }
    if token.is_empty() || token.eq_ignore_ascii_case("bearer") {
        return Err(Error::EmptyInput);
    }
    Ok(token)
}

fn run(input: &str, opts: &Options, keys: Option<&KeySet>) -> Result<Report, Error> {
    let token = normalize(input)?;
    let now_time = opts.now.unwrap_or_else(SystemTime::now);
    let now = unix_seconds(now_time);
    let typ = if opts.strict_rfc9068 {
        TypPolicy::Rfc9068
    } else {
        TypPolicy::Lenient
    };
    let leeway = opts.leeway.as_secs_f64();
    let max_lifetime = opts.max_lifetime.as_secs_f64();
    let mut report = Report {
        header: None,
        header_checks: Vec::new(),
        claims: None,
        claims_error: None,
        caller: None,
        amr: Vec::new(),
        mfa: None,
        mfa_route: None,
        times: None,
        claim_check: None,
        issuer_compared: opts.issuer.is_some(),
        audience_compared: !opts.audiences.is_empty(),
        signature: Signature::NotChecked,
        keys: keys.map(|k| {
            let mut kids: Vec<String> = k.kids().map(str::to_owned).collect();
            kids.sort();
            kids
        }),
        leeway: opts.leeway,
        max_lifetime: opts.max_lifetime,
        verdict: Verdict::Pass,
        route: None,
        dpop: None,
    };

    // What the token says, decoded whatever its faults (never trusted).
    let capped = token.len() <= opts.max_token_len;
    let mut segments = token.split('.');
    if capped && let Some(Ok(header)) = segments.next().map(jws::decode_segment) {
        report.header_checks = header::checks(&header, typ);
        report.header = Some(Value::Object(header));
    }
    let mut typed = None;
    if capped {
        match segments.next().map(jws::decode_segment) {
            Some(Ok(payload)) => {
                report.claims = Some(Value::Object(payload.clone()));
                match Claims::from_payload(payload) {
                    Some(claims) => typed = Some(claims),
                    None => report.claims_error = Some(Reason::ClaimType),
                }
            }
            Some(Err(reason)) => report.claims_error = Some(reason),
            None => report.claims_error = Some(Reason::MalformedToken),
        }
    }
    if let Some(claims) = &typed {
        let validation = validation(opts, claims, leeway, max_lifetime);
        let (caller, why) = classify_explained(claims);
        report.caller = Some((caller, why));
        report.amr = claims.amr().to_vec();
        report.mfa = Some(opts.mfa.prove(claims, now_time, opts.leeway));
        report.mfa_route = Some(check_mfa_route(
            &opts.mfa,
            opts.app_only,
            caller,
            claims,
            now,
            leeway,
        ));
        let r = claims.registered();
        report.times = Some(Times {
            now: now_time,
            exp: r.exp,
            nbf: r.nbf,
            iat: r.iat,
            auth_time: r.auth_time,
            check: check_times(r.exp, r.nbf, r.iat, &validation, now),
        });
        report.claim_check = Some(validate(claims, &validation, now));
    }

    // The layer's pipeline, in its order (token, header, key, claims, MFA).
    let outcome = (|| {
        if token.len() > opts.max_token_len {
            return Err(Reason::TokenTooLarge);
        }
        if !is_b64token(token.as_bytes()) {
            return Err(Reason::MalformedBearer);
        }
        let jws = jws::parse(token.as_bytes(), opts.max_token_len, typ)?;
        if let Some(keys) = keys {
            let verified = keys
                .get(&jws.kid)
                .ok_or(Reason::UnknownKeyId)
                .and_then(|key| {
                    jws.verify(key)?;
                    // Entra's per-key `issuer`, as the layer checks it.
                    let claims = Claims::from_payload(jws.payload()?).ok_or(Reason::ClaimType)?;
                    let r = claims.registered();
                    check_key_issuer(key, claims.text(&r.iss), claims.text(&r.tid))
                });
            report.signature = match verified {
                Ok(()) => Signature::Verified {
                    kid: jws.kid.to_string(),
                },
                Err(reason) => Signature::Failed(reason),
            };
            verified?;
        }
        let claims = Claims::from_payload(jws.payload()?).ok_or(Reason::ClaimType)?;
        validate(
            &claims,
            &validation(opts, &claims, leeway, max_lifetime),
            now,
        )?;
        let caller = classify_explained(&claims).0;
        check_mfa_route(&opts.mfa, opts.app_only, caller, &claims, now, leeway)?;
        Ok(())
    })();
    report.dpop = dpop::report(
        token,
        report.claims.as_ref(),
        opts.dpop_proof.as_deref(),
        now,
        leeway,
    );
    let proof_failure = report.dpop.as_ref().and_then(DpopReport::failure);
    report.verdict = match (outcome, proof_failure) {
        (Ok(()), None) => Verdict::Pass,
        (Ok(()), Some(reason)) | (Err(reason), _) => Verdict::Refused(reason),
    };
    Ok(report)
}

/// The layer's claim checks; an issuer or audience that was not given is
/// replaced by the token's own, so only presence and type are checked.
fn validation(opts: &Options, claims: &Claims, leeway: f64, max_lifetime: f64) -> Validation {
    let issuer = match &opts.issuer {
        Some(issuer) => IssuerMatch::new(issuer),
        None => IssuerMatch::Exact(claims.issuer().unwrap_or_default().to_owned()),
    };
    let audiences = if opts.audiences.is_empty() {
        claims.audiences().to_vec()
    } else {
        opts.audiences.clone()
    };
    Validation {
        issuer,
        audiences,
        leeway,
        max_lifetime,
        tenants: TenantFilter::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_normalized() {
        assert_eq!(normalize("  a.b.c\n"), Ok("a.b.c"));
        assert_eq!(normalize("Bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(normalize("bearer   a.b.c \r\n"), Ok("a.b.c"));
        assert_eq!(normalize(" \n"), Err(Error::EmptyInput));
        assert_eq!(normalize("Bearer "), Err(Error::EmptyInput));
    }
}
