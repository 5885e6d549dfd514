//! `tower-mfa inspect <token|->`: decode a bearer token and explain what the
//! `RequireMfaLayer` would answer on an `mfa` route. The logic lives in
//! `tower_mfa::inspect`; this file parses arguments and prints.
//!
//! Exit codes: 0 would pass, 1 would be refused, 2 usage or input error.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tower_mfa::AppOnly;
use tower_mfa::inspect::{self, Options, Report};

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
    /// Fetch the issuer's JWK Set from this URL and verify the signature.
    #[arg(long, value_name = "URL", conflicts_with = "jwks_file")]
    jwks: Option<String>,
    /// Read the issuer's JWK Set from this file and verify the signature.
    #[arg(long, value_name = "PATH")]
    jwks_file: Option<PathBuf>,
    /// Check this DPoP proof (the `DPoP` header's value) against the token.
    #[arg(long, value_name = "PROOF")]
    dpop: Option<String>,
    /// Allow an `http://` JWKS URL on a loopback address.
    #[arg(long)]
    allow_http_loopback: bool,
    /// Compare `iss` with this issuer (exact, or a `{tenantid}` template).
    #[arg(long, value_name = "ISSUER")]
    issuer: Option<String>,
    /// Compare `aud` with this audience (repeatable).
    #[arg(long = "audience", value_name = "AUDIENCE")]
    audiences: Vec<String>,
    /// Accept `amr` methods from two RFC 8176 factor groups as MFA.
    #[arg(long)]
    derive_factors: bool,
    /// Accept this `acr` value as MFA (repeatable).
    #[arg(long = "accept-acr", value_name = "ACR")]
    accept_acr: Vec<String>,
    /// Accept this Entra authentication context id (`acrs`) as MFA (repeatable).
    #[arg(long = "accept-auth-context", value_name = "ID")]
    accept_auth_context: Vec<String>,
    /// Also read `authenticationmethodsreferences` and the long Microsoft amr claim.
    #[arg(long)]
    read_long_amr_claims: bool,
    /// Require the last authentication (`auth_time`) to be at most this old.
    #[arg(long, value_name = "SECONDS")]
    max_age: Option<u64>,
    /// What `mfa` routes do with app-only callers.
    #[arg(long, value_enum, default_value_t = AppOnlyArg::Allow)]
    app_only: AppOnlyArg,
    /// RFC 9068 strict `typ` (`at+jwt` or `application/at+jwt`).
    #[arg(long)]
    strict_rfc9068: bool,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
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
        Ok(report) => {
            println!("{report}");
            ExitCode::from(report.verdict.exit_code())
        }
        Err(message) => {
            eprintln!("tower-mfa inspect: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &InspectArgs) -> Result<Report, String> {
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
    let opts = options(args);
    if let Some(path) = &args.jwks_file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let keys = inspect::parse_jwks(&bytes).map_err(|e| e.to_string())?;
        println!("keys from: {}", path.display());
        return inspect::inspect_with_keys(&input, &opts, &keys).map_err(|e| e.to_string());
    }
    if let Some(url) = &args.jwks {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        let report = runtime
            .block_on(inspect::inspect_with_jwks(
                &input,
                &opts,
                url,
                args.allow_http_loopback,
            ))
            .map_err(|e| e.to_string())?;
        println!("keys from: {url}");
        return Ok(report);
    }
    inspect::inspect(&input, &opts).map_err(|e| e.to_string())
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
