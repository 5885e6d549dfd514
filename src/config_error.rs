//! [`ConfigError`]: a configuration that cannot work, naming the setting and
//! the value at fault.

use std::fmt;
use std::path::PathBuf;

/// A configuration that cannot work, returned by
/// [`Builder::build`](crate::Builder::build) and the TOML readers of the
/// `config-file` feature.
///
/// Each variant names the setting at fault (as the builder method or file
/// key spells it, with an index for lists: `rules[1].pattern`) and, where
/// there is one, the value. [`Display`](fmt::Display) reads as one sentence
/// starting with `invalid tower-mfa configuration: `.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting was not given: `issuer`, `audience`, or the key
    /// source (`keys`: `jwks_url`, `discovery_url`, `discover_from_issuer`
    /// or static keys).
    #[non_exhaustive]
    Missing {
        /// The setting.
        setting: &'static str,
    },
    /// A setting holds a value that cannot work.
    #[non_exhaustive]
    Invalid {
        /// The setting, e.g. `jwks_url`, `rules[1].pattern`, `exemptions[0].id`.
        setting: String,
        /// The value at fault, as given (a summary for binary input).
        value: String,
        /// What is wrong with it, as a sentence.
        problem: String,
    },
    /// Two settings that exclude each other were both given.
    #[non_exhaustive]
    Conflict {
        /// The first setting.
        first: &'static str,
        /// The second setting.
        second: &'static str,
    },
    /// Two trusted issuers could both match one token's `iss` (the same
    /// issuer twice, a `{tenantid}` template and an exact issuer it fits, or
    /// two templates that overlap): a token must pick exactly one.
    #[non_exhaustive]
    OverlappingIssuers {
        /// The short name of the first issuer.
        first: String,
        /// The short name of the second issuer.
        second: String,
        /// The first issuer's `iss` (or template).
        first_issuer: String,
        /// The second issuer's `iss` (or template).
        second_issuer: String,
    },
    /// The HTTP client for key fetches cannot be built (e.g. no TLS roots).
    #[non_exhaustive]
    HttpClient {
        /// The client library's explanation.
        reason: String,
    },
    /// A TOML document does not parse or does not fit the format (unknown
    /// key, wrong type, unknown variant, instant without offset...).
    #[non_exhaustive]
    Toml {
        /// The 1-based line of the fault, when known.
        line: Option<usize>,
        /// The 1-based column of the fault, when known.
        column: Option<usize>,
        /// The parser's message (it quotes the line).
        message: String,
    },
    /// A configuration file cannot be read.
    #[non_exhaustive]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's explanation.
        reason: String,
    },
    /// A fault in a configuration file, naming the file.
    #[non_exhaustive]
    InFile {
        /// The file.
        path: PathBuf,
        /// The fault.
        error: Box<ConfigError>,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        setting: impl Into<String>,
        value: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            setting: setting.into(),
            value: value.into(),
            problem: problem.into(),
        }
    }

    #[cfg(feature = "config-file")]
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        Self::InFile {
            path: path.to_owned(),
            error: Box::new(self),
        }
    }

    /// The setting at fault, when one is (the first of two conflicting ones).
    #[must_use]
    pub fn setting(&self) -> Option<&str> {
        match self {
            Self::Missing { setting } => Some(setting),
            Self::Invalid { setting, .. } => Some(setting),
            Self::Conflict { first, .. } => Some(first),
            Self::OverlappingIssuers { .. } => Some("issuers"),
            Self::HttpClient { .. } => Some("http_client"),
            Self::Toml { .. } | Self::Read { .. } => None,
            Self::InFile { error, .. } => error.setting(),
        }
    }

    fn detail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { setting: "keys" } => f.write_str(
                "a key source is required: jwks_url, discovery_url, discover_from_issuer or static keys",
            ),
            Self::Missing { setting } => write!(f, "`{setting}` is required"),
            Self::Invalid {
                setting, problem, ..
            } => write!(f, "{setting}: {problem}"),
            Self::Conflict { first, second } => write!(f, "set `{first}` or `{second}`, not both"),
            Self::OverlappingIssuers {
                first,
                second,
                first_issuer,
                second_issuer,
            } => write!(
                f,
                "issuers: {first:?} ({first_issuer:?}) and {second:?} ({second_issuer:?}) could both match one token's `iss`"
            ),
            Self::HttpClient { reason } => {
                write!(f, "the HTTP client for key fetches cannot be built: {reason}")
            }
            Self::Toml { message, .. } => f.write_str(message.trim_end()),
            Self::Read { path, reason } => write!(f, "cannot read {}: {reason}", path.display()),
            Self::InFile { path, error } => {
                write!(f, "{}: ", path.display())?;
                error.detail(f)
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid tower-mfa configuration: ")?;
        self.detail(f)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_setting_and_the_value() {
        let e = ConfigError::invalid("jwks_url", "ftp://x", "\"ftp://x\" must be https");
        assert_eq!(e.setting(), Some("jwks_url"));
        assert_eq!(
            e.to_string(),
            "invalid tower-mfa configuration: jwks_url: \"ftp://x\" must be https"
        );
        let missing = ConfigError::Missing { setting: "issuer" };
        assert_eq!(
            missing.to_string(),
            "invalid tower-mfa configuration: `issuer` is required"
        );
        let conflict = ConfigError::Conflict {
            first: "jwks_url",
            second: "discovery_url",
        };
        assert!(
            conflict
                .to_string()
                .ends_with("set `jwks_url` or `discovery_url`, not both")
        );
    }
}
