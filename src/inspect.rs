//! Token inspection: decode a bearer token and explain what
//! [`RequireMfaLayer`](crate::RequireMfaLayer) would answer on an `mfa`
//! route (feature `cli`; the `tower-mfa inspect` command prints it).
//!
//! The seed's advice, "use a JWT decoder to check the `amr` value", as a
//! tool that runs the crate's own checks instead of guessing: the header
//! checks, the strict JSON parse, the claim types, the time, issuer and
//! audience checks, the caller classification and the MFA policy are the
//! very functions the layer calls. With keys ([`inspect_with_keys`],
//! [`inspect_with_jwks`]) the signature is verified exactly as the layer
//! does: key by `kid`, the key's one algorithm, aws-lc-rs.
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
//! Exemptions and route rules are configuration, not token content: they
//! are not applied.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::challenge::{self, KeysUnavailableStatus};
use crate::claims::Claims;
use crate::error::{ErrorKind, Reason};
use crate::jwks::KeySet;
use crate::jwks::SUPPORTED_ALGORITHMS;
use crate::jwks::fetch::{self, FetchPolicy};
use crate::layer::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_TOKEN_LEN};
use crate::policy::caller::{AppOnly, Caller, classify_explained};
use crate::policy::mfa::{MfaPolicy, MfaProof, check_mfa_route};
use crate::time::{rfc3339, unix_seconds};
use crate::token::extract::is_b64token;
use crate::token::jws::{self, REJECTED_HEADER_PARAMS, TypPolicy};
use crate::token::validate::{IssuerMatch, TenantFilter, Validation, check_times, validate};

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
        }
    }
}

impl std::error::Error for Error {}

/// One header check the layer applies, with what the header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderCheck {
    /// What is checked (`alg`, `crit/zip/cty`, `typ`, `kid`, `jku/x5u/jwk/x5c`).
    pub name: &'static str,
    /// What the header holds and what is accepted.
    pub detail: String,
    /// The check's outcome.
    pub result: Result<(), Reason>,
}

/// The signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No keys were given, or the token failed before the signature step.
    NotChecked,
    /// Verified with the key of this `kid`.
    Verified {
        /// The key's id.
        kid: String,
    },
    /// Refused: unknown `kid`, algorithm mismatch or bad signature.
    Failed(Reason),
}

/// The token's times, seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Times {
    /// The time judged at.
    pub now: f64,
    /// `exp`.
    pub exp: Option<f64>,
    /// `nbf`.
    pub nbf: Option<f64>,
    /// `iat`.
    pub iat: Option<f64>,
    /// `auth_time`.
    pub auth_time: Option<f64>,
    /// The layer's time checks (`exp` required, leeway, maximum lifetime).
    pub check: Result<(), Reason>,
}

/// What the layer would answer on an `mfa` route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The request would go through.
    Pass,
    /// The request would be refused for this reason.
    Refused(Reason),
}

impl Verdict {
    /// Whether the request would go through.
    #[must_use]
    pub fn passes(self) -> bool {
        self == Self::Pass
    }

    /// The answer in one line: `would pass`, `401 Unauthorized - MFA
    /// required (...)`, `401 invalid_token: <reason> (<code>)`, ...
    #[must_use]
    pub fn answer(self) -> String {
        let Self::Refused(reason) = self else {
            return "would pass".to_owned();
        };
        let code = reason.as_str();
        let (kind, keys) = (reason.kind(), KeysUnavailableStatus::default());
        let status = challenge::status(kind, keys).as_u16();
        let label = challenge::label(kind, keys);
        if kind == ErrorKind::MfaRequired {
            format!("{status} {label} ({code})")
        } else {
            format!("{status} {label}: {reason} ({code})")
        }
    }

    /// The exit code of `tower-mfa inspect`: 0 would pass, 1 would be refused.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        u8::from(!self.passes())
    }
}

/// Everything `inspect` found, as plain data. [`Display`](fmt::Display)
/// renders the text `tower-mfa inspect` prints.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The decoded header, when it is a JSON object.
    pub header: Option<Value>,
    /// The header checks, when the header decoded.
    pub header_checks: Vec<HeaderCheck>,
    /// The decoded payload (verified only when [`Report::signature`] says so).
    pub claims: Option<Value>,
    /// Why the payload could not be read, when it could not.
    pub claims_error: Option<Reason>,
    /// The caller class and the rule that decided it.
    pub caller: Option<(Caller, &'static str)>,
    /// The token's `amr` values.
    pub amr: Vec<String>,
    /// [`MfaPolicy::prove`] on the claims: the proof, or why there is none.
    pub mfa: Option<Result<MfaProof, Reason>>,
    /// The MFA step of an `mfa` route for this caller (app-only callers as
    /// [`Options::app_only`] says); `Ok(None)`: skipped.
    pub mfa_route: Option<Result<Option<MfaProof>, Reason>>,
    /// The token's times and the time checks.
    pub times: Option<Times>,
    /// The full claim checks (times, issuer, tenant, audience).
    pub claim_check: Option<Result<(), Reason>>,
    /// Whether `iss` was compared with a configured issuer.
    pub issuer_compared: bool,
    /// Whether `aud` was compared with configured audiences.
    pub audience_compared: bool,
    /// The signature check.
    pub signature: Signature,
    /// The usable key ids, when keys were given (sorted).
    pub keys: Option<Vec<String>>,
    /// Leeway and maximum lifetime used, in seconds.
    pub leeway: f64,
    /// See [`Report::leeway`].
    pub max_lifetime: f64,
    /// What the layer would answer on an `mfa` route.
    pub verdict: Verdict,
}

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
        leeway,
        max_lifetime,
        verdict: Verdict::Pass,
    };

    // What the token says, decoded whatever its faults (never trusted).
    let capped = token.len() <= opts.max_token_len;
    let mut segments = token.split('.');
    if capped && let Some(Ok(header)) = segments.next().map(jws::decode_segment) {
        report.header_checks = header_checks(&header, typ);
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
            now,
            exp: r.exp,
            nbf: r.nbf,
            iat: r.iat,
            auth_time: r.auth_time,
            check: check_times(r.exp, r.nbf, r.iat, &validation, now),
        });
        report.claim_check = Some(validate(claims, &validation, now));
    }

    // The layer's pipeline, in its order (PRODUCT.md §3 steps 3 to 8).
    let outcome = (|| {
        if token.len() > opts.max_token_len {
            return Err(Reason::TokenTooLarge);
        }
        if !is_b64token(token.as_bytes()) {
            return Err(Reason::MalformedBearer);
        }
        let jws = jws::parse(token, opts.max_token_len, typ)?;
        if let Some(keys) = keys {
            let verified = keys
                .get(&jws.kid)
                .ok_or(Reason::UnknownKeyId)
                .and_then(|key| jws.verify(key));
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
    report.verdict = match outcome {
        Ok(()) => Verdict::Pass,
        Err(reason) => Verdict::Refused(reason),
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

fn header_checks(header: &Map<String, Value>, typ: TypPolicy) -> Vec<HeaderCheck> {
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

fn proof_text(proof: MfaProof) -> &'static str {
    match proof {
        MfaProof::Amr => "`amr` contains \"mfa\"",
        MfaProof::EquivalentAmr => "`amr` contains an MFA-equivalent value (ngcmfa, multipleauthn)",
        MfaProof::LongAmrClaim => "a long-named amr claim contains \"mfa\" or an equivalent",
        MfaProof::DerivedFactors => "`amr` holds methods from two RFC 8176 factor groups",
        MfaProof::Acr => "`acr` is an accepted value",
        MfaProof::AuthContext => "`acrs` holds an accepted authentication context",
    }
}

/// `53 min`, `2 h`, `3 d`, `45 s`.
fn span(seconds: f64) -> String {
    let s = seconds.abs();
    if s < 120.0 {
        format!("{} s", s.floor())
    } else if s < 120.0 * 60.0 {
        format!("{} min", (s / 60.0).floor())
    } else if s <= 48.0 * 3600.0 {
        format!("{} h", (s / 3600.0).floor())
    } else {
        format!("{} d", (s / 86400.0).floor())
    }
}

fn relative(at: f64, now: f64) -> String {
    if at > now {
        format!("in {}", span(at - now))
    } else {
        format!("{} ago", span(now - at))
    }
}

fn outcome(result: &Result<(), Reason>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(reason) => format!("FAIL {} ({reason})", reason.as_str()),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.header {
            Some(header) => writeln!(f, "header:\n{}", pretty(header))?,
            None => writeln!(f, "header: not a base64url JSON object")?,
        }
        if !self.header_checks.is_empty() {
            writeln!(f, "header checks:")?;
            for check in &self.header_checks {
                writeln!(
                    f,
                    "  {:<4} {:<16} {}",
                    if check.result.is_ok() { "ok" } else { "FAIL" },
                    check.name,
                    check.detail
                )?;
            }
        }
        let verified = matches!(self.signature, Signature::Verified { .. });
        match (&self.claims, self.claims_error) {
            (Some(claims), error) => {
                let note = if verified {
                    "signature verified"
                } else {
                    "NOT verified"
                };
                writeln!(f, "claims ({note}):\n{}", pretty(claims))?;
                if let Some(reason) = error {
                    writeln!(f, "  FAIL {} ({reason})", reason.as_str())?;
                }
            }
            (None, Some(reason)) => {
                writeln!(f, "claims: unreadable: {} ({reason})", reason.as_str())?
            }
            (None, None) => writeln!(f, "claims: not decoded")?,
        }
        if let Some((caller, why)) = self.caller {
            writeln!(f, "caller:    {}: {why}", caller.as_str())?;
        }
        if let (Some(mfa), Some(route)) = (&self.mfa, &self.mfa_route) {
            let amr = serde_json::to_string(&self.amr).unwrap_or_default();
            let proof = match mfa {
                Ok(proof) => format!("proven by {}: {}", proof.as_str(), proof_text(*proof)),
                Err(reason) => format!("no proof: {} ({reason})", reason.as_str()),
            };
            match route {
                Ok(Some(_)) => writeln!(f, "mfa:       {proof}; amr = {amr}")?,
                Ok(None) => writeln!(
                    f,
                    "mfa:       not required: app-only callers skip the check (app_only = allow); {proof}; amr = {amr}"
                )?,
                Err(reason) if reason.kind() == ErrorKind::MfaRequired => {
                    writeln!(
                        f,
                        "mfa:       MISSING: {} ({reason}); amr = {amr}",
                        reason.as_str()
                    )?;
                }
                Err(reason) => {
                    writeln!(
                        f,
                        "mfa:       refused: {} ({reason}); amr = {amr}",
                        reason.as_str()
                    )?;
                }
            }
        }
        if let Some(t) = &self.times {
            match t.exp {
                Some(exp) if exp > t.now => {
                    writeln!(
                        f,
                        "expiry:    exp {} (expires {})",
                        rfc3339(exp),
                        relative(exp, t.now)
                    )?;
                }
                Some(exp) => writeln!(
                    f,
                    "expiry:    exp {} (expired {} ago)",
                    rfc3339(exp),
                    span(t.now - exp)
                )?,
                None => writeln!(f, "expiry:    no exp (required)")?,
            }
            for (name, at) in [("nbf", t.nbf), ("iat", t.iat), ("auth_time", t.auth_time)] {
                if let Some(at) = at {
                    writeln!(
                        f,
                        "           {name} {} ({})",
                        rfc3339(at),
                        relative(at, t.now)
                    )?;
                }
            }
            writeln!(
                f,
                "times:     {} (leeway {}, max lifetime {})",
                outcome(&t.check),
                span(self.leeway),
                span(self.max_lifetime)
            )?;
        }
        if let Some(check) = &self.claim_check {
            let mut skipped = Vec::new();
            if !self.issuer_compared {
                skipped.push("issuer not compared: pass --issuer");
            }
            if !self.audience_compared {
                skipped.push("audience not compared: pass --audience");
            }
            let skipped = if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join("; "))
            };
            writeln!(f, "checks:    {}{skipped}", outcome(check))?;
        }
        match &self.keys {
            Some(kids) if kids.is_empty() => writeln!(f, "keys:      no usable key")?,
            Some(kids) => writeln!(f, "keys:      {} usable: {}", kids.len(), kids.join(", "))?,
            None => {}
        }
        match &self.signature {
            Signature::NotChecked if self.keys.is_none() => writeln!(
                f,
                "signature: not checked (pass --jwks URL or --jwks-file PATH)"
            )?,
            Signature::NotChecked => writeln!(f, "signature: not reached")?,
            Signature::Verified { kid } => writeln!(f, "signature: ok (key {kid:?})")?,
            Signature::Failed(reason) => {
                writeln!(f, "signature: FAIL {} ({reason})", reason.as_str())?;
            }
        }
        let caveat = if self.verdict.passes() && !verified {
            " (signature not checked)"
        } else {
            ""
        };
        write!(
            f,
            "verdict:   on an `mfa` route: {}{caveat}",
            self.verdict.answer()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_dates() {
        assert_eq!(span(53.0 * 60.0 + 5.0), "53 min");
        assert_eq!(span(2.0 * 3600.0 + 10.0), "2 h");
        assert_eq!(span(45.0), "45 s");
        assert_eq!(span(3.0 * 86400.0), "3 d");
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000.0), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn input_is_normalized() {
        assert_eq!(normalize("  a.b.c\n"), Ok("a.b.c"));
        assert_eq!(normalize("Bearer a.b.c"), Ok("a.b.c"));
        assert_eq!(normalize("bearer   a.b.c \r\n"), Ok("a.b.c"));
        assert_eq!(normalize(" \n"), Err(Error::EmptyInput));
        assert_eq!(normalize("Bearer "), Err(Error::EmptyInput));
    }
}
