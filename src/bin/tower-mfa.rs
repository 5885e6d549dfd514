//! `tower-mfa inspect <token|->`: decode a bearer token and explain what the
//! `RequireMfaLayer` would answer: with `--config FILE --path P`, the answer
//! of the layer that file configures on that route; without, on an `mfa`
//! route. The logic lives in `tower_mfa::inspect`; this file parses
//! arguments and prints (text, colours only on a terminal without
//! `NO_COLOR`, or `--json`).
//!
//! Exit codes: 0 would pass, 1 would be refused, 2 usage or input error.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use http::Method;
use tower_mfa::inspect::{self, Options, Report};
use tower_mfa::{AppOnly, Builder, RequireMfaLayer};

/// Largest input read from stdin (a token is capped at 16 KiB anyway).
const MAX_STDIN: u64 = 1024 * 1024;

#[derive(Parser)]
#[command(name = "tower-mfa", version, about = "Tools for the tower-mfa layer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a bearer token and explain what the layer would answer on an
    /// `mfa` route (exit 0: would pass, 1: would be refused, 2: usage or
    /// input error).
    Inspect(InspectArgs),
}

#[derive(Args)]
struct InspectArgs {
    /// The token, or `-` to read it from stdin (preferred: a token on the
    /// command line ends up in shell history). Whitespace and a leading
    /// `Bearer ` are ignored.
    #[arg(value_name = "TOKEN|-")]
    token: String,
    /// The layer's TOML configuration: judge the request as the layer it
    /// configures would (rules, tenant lists, scopes, roles, exemptions,
    /// report-only, `enforce_from`). The token-policy flags below do not
    /// apply with it: the file says all of that.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// With --config: the request path to judge.
    #[arg(long, value_name = "P", requires = "config", default_value = "/")]
    path: String,
    /// With --config: the request method.
    #[arg(long, value_name = "M", requires = "config", default_value = "GET")]
    method: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Fetch the issuer's JWK Set from this URL and verify the signature.
    #[arg(long, value_name = "URL", conflicts_with_all = ["jwks_file", "discovery"])]
    jwks: Option<String>,
    /// Read the issuer's JWK Set from this file and verify the signature.
    #[arg(long, value_name = "PATH", conflicts_with = "discovery")]
    jwks_file: Option<PathBuf>,
    /// With --config: find the JWK Set through this OpenID discovery document.
    #[arg(long, value_name = "URL", requires = "config")]
    discovery: Option<String>,
    /// Check this DPoP proof (the `DPoP` header's value) against the token.
    #[arg(long, value_name = "PROOF")]
    dpop: Option<String>,
    /// Allow an `http://` JWKS or discovery URL on a loopback address.
    #[arg(long)]
    allow_http_loopback: bool,
    /// Compare `iss` with this issuer (exact, or a `{tenantid}` template).
    #[arg(long, value_name = "ISSUER", conflicts_with = "config")]
    issuer: Option<String>,
    /// Compare `aud` with this audience (repeatable).
    #[arg(long = "audience", value_name = "AUDIENCE", conflicts_with = "config")]
    audiences: Vec<String>,
    /// Accept `amr` methods from two RFC 8176 factor groups as MFA.
    #[arg(long, conflicts_with = "config")]
    derive_factors: bool,
    /// Accept this `acr` value as MFA (repeatable).
    #[arg(long = "accept-acr", value_name = "ACR", conflicts_with = "config")]
    accept_acr: Vec<String>,
    /// Accept this Entra authentication context id (`acrs`) as MFA (repeatable).
    #[arg(
        long = "accept-auth-context",
        value_name = "ID",
        conflicts_with = "config"
    )]
    accept_auth_context: Vec<String>,
    /// Also read `authenticationmethodsreferences` and the long Microsoft amr claim.
    #[arg(long, conflicts_with = "config")]
    read_long_amr_claims: bool,
    /// Require the last authentication (`auth_time`) to be at most this old.
    #[arg(long, value_name = "SECONDS", conflicts_with = "config")]
    max_age: Option<u64>,
    /// What `mfa` routes do with app-only callers.
    #[arg(long, value_enum, default_value_t = AppOnlyArg::Allow, conflicts_with = "config")]
    app_only: AppOnlyArg,
    /// RFC 9068 strict `typ` (`at+jwt` or `application/at+jwt`).
    #[arg(long, conflicts_with = "config")]
    strict_rfc9068: bool,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        conflicts_with = "config"
    )]
    leeway: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum AppOnlyArg {
    /// Let app-only callers through without an MFA check (default).
    Allow,
    /// Refuse them (403 insufficient_scope).
    Deny,
    /// Apply the MFA check to them too.
    RequireMfa,
}

fn main() -> ExitCode {
    let Command::Inspect(args) = Cli::parse().command;
    match run(&args) {
        Ok((source, report)) => {
            // A closed pipe (`| head`) is not an error worth a panic.
            let mut out = std::io::stdout().lock();
            if args.json {
                let mut json = report.to_json();
                if let (Some(source), Some(object)) = (source, json.as_object_mut()) {
                    object.insert("keys_from".to_owned(), source.into());
                }
                let _ = writeln!(out, "{json:#}");
            } else {
                if let Some(source) = source {
                    let _ = writeln!(out, "keys from: {source}");
                }
                let color = std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                let _ = writeln!(out, "{}", report.render(color).to_string().trim_end());
            }
            ExitCode::from(report.verdict.exit_code())
        }
        Err(message) => {
            eprintln!("tower-mfa inspect: {message}");
            ExitCode::from(2)
        }
    }
}

/// Where the keys came from (printed first), and the report.
type Outcome = (Option<String>, Report);

fn run(args: &InspectArgs) -> Result<Outcome, String> {
    let input = if args.token == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(MAX_STDIN)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        String::from_utf8(bytes).map_err(|_| "stdin is not UTF-8".to_owned())?
    } else {
        args.token.clone()
    };
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))
    };
    if let Some(config) = &args.config {
        let (source, layer) = configured_layer(args, config)?;
        let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP method", args.method))?;
        let report = runtime()?
            .block_on(inspect::inspect_route(&input, &layer, method, &args.path))
            .map_err(|e| e.to_string())?;
        return Ok((Some(source), report));
    }
    let opts = options(args);
    if let Some(path) = &args.jwks_file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let keys = inspect::parse_jwks(&bytes).map_err(|e| e.to_string())?;
        let report = inspect::inspect_with_keys(&input, &opts, &keys).map_err(|e| e.to_string())?;
        return Ok((Some(path.display().to_string()), report));
    }
    if let Some(url) = &args.jwks {
        let report = runtime()?
            .block_on(inspect::inspect_with_jwks(
                &input,
                &opts,
                url,
                args.allow_http_loopback,
            ))
            .map_err(|e| e.to_string())?;
        return Ok((Some(url.clone()), report));
    }
    let report = inspect::inspect(&input, &opts).map_err(|e| e.to_string())?;
    Ok((None, report))
}

/// The layer the file configures, with the key flags overriding its keys.
fn configured_layer(
    args: &InspectArgs,
    config: &std::path::Path,
) -> Result<(String, RequireMfaLayer), String> {
    let mut builder =
        Builder::from_toml_file(config).map_err(|e| format!("{}: {e}", config.display()))?;
    if args.allow_http_loopback {
        builder = builder.allow_http_loopback(true);
    }
    let source = if let Some(path) = &args.jwks_file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        builder = builder.static_jwks(&bytes).map_err(|e| e.to_string())?;
        path.display().to_string()
    } else if let Some(url) = &args.jwks {
        builder = builder.jwks_url(url);
        url.clone()
    } else if let Some(url) = &args.discovery {
        builder = builder.discovery_url(url);
        url.clone()
    } else {
        config.display().to_string()
    };
    let layer = builder
        .build()
        .map_err(|e| format!("{}: {e}", config.display()))?;
    Ok((source, layer))
}

fn options(args: &InspectArgs) -> Options {
    let mut mfa = tower_mfa::MfaPolicy::default()
        .derive_from_factors(args.derive_factors)
        .read_long_amr_claims(args.read_long_amr_claims)
        .accept_acr(args.accept_acr.iter().cloned())
        .accept_auth_contexts(args.accept_auth_context.iter().cloned());
    if let Some(secs) = args.max_age {
        mfa = mfa.max_age(Duration::from_secs(secs));
    }
    let mut opts = Options::default();
    opts.mfa = mfa;
    opts.app_only = match args.app_only {
        AppOnlyArg::Allow => AppOnly::Allow,
        AppOnlyArg::Deny => AppOnly::Deny,
        AppOnlyArg::RequireMfa => AppOnly::RequireMfa,
    };
    opts.issuer.clone_from(&args.issuer);
    opts.audiences.clone_from(&args.audiences);
    opts.strict_rfc9068 = args.strict_rfc9068;
    opts.dpop_proof.clone_from(&args.dpop);
    opts.leeway = Duration::from_secs(args.leeway);
    opts
}
