//! [`Settings`]: a checked configuration as plain data, what
//! [`Builder::build`](crate::Builder::build) hands to [`Pipeline::new`](super::Pipeline::new).

use std::sync::Arc;
use std::time::Duration;

use crate::challenge::{IsBrowser, KeysUnavailableStatus, RenderRefusal};
use crate::clock::Clock;
use crate::dpop::DpopConfig;
use crate::jwks::KeySet;
use crate::jwks::fetch::FetchPolicy;
use crate::jwks::store::{RefreshPolicy, Source};
use crate::metadata::document::Published;
use crate::policy::exempt::Exemptions;
use crate::policy::matcher::Routes;
use crate::policy::requirement::Requirement;
use crate::policy::route::{Access, Rule};
use crate::token::extract::Sources;
use crate::token::jws::TypPolicy;
use crate::token::validate::{IssuerMatch, TenantFilter};

/// Everything a pipeline needs, already checked: URLs parse and are secure,
/// rule patterns parse and are compiled, the step-up URL renders, the HTTP
/// client exists.
pub(crate) struct Settings {
    /// The trusted issuers, at least one; no two can match one `iss`.
    pub(crate) issuers: Vec<IssuerSettings>,
    pub(crate) max_lifetime: Duration,
    pub(crate) keys: KeySettings,
    pub(crate) rules: Vec<Rule>,
    /// `rules` compiled for selection (indices into `rules`).
    pub(crate) routes: Routes,
    pub(crate) default_access: Access,
    pub(crate) sources: Sources,
    pub(crate) max_token_len: usize,
    /// The default requirement first, then the named ones in the order
    /// rules' `requirement_index` refers to.
    pub(crate) requirements: Vec<Requirement>,
    pub(crate) exemptions: Exemptions,
    pub(crate) answers: AnswerSettings,
    pub(crate) clock: Arc<dyn Clock>,
    /// Byte budget of the verified-token cache; 0: no cache.
    pub(crate) cache_bytes: u64,
    /// DPoP settings, when any rule may use DPoP.
    pub(crate) dpop: Option<DpopConfig>,
    /// The Protected Resource Metadata document, when published.
    pub(crate) metadata: Option<Published>,
}

/// One trusted issuer, checked.
pub(crate) struct IssuerSettings {
    /// The short name for logs, metrics and `inspect`.
    pub(crate) name: Arc<str>,
    pub(crate) issuer: IssuerMatch,
    pub(crate) audiences: Vec<String>,
    pub(crate) tenants: TenantFilter,
    pub(crate) leeway: Duration,
    pub(crate) typ: TypPolicy,
    pub(crate) source: Source,
    pub(crate) static_keys: KeySet,
    pub(crate) refresh: RefreshPolicy,
}

/// How keys are fetched, for every issuer of the layer.
pub(crate) struct KeySettings {
    pub(crate) client: reqwest::Client,
    pub(crate) fetch: FetchPolicy,
}

/// How refusals are answered.
pub(crate) struct AnswerSettings {
    pub(crate) realm: Option<String>,
    pub(crate) keys_unavailable: KeysUnavailableStatus,
    pub(crate) renderer: Option<Arc<dyn RenderRefusal>>,
    pub(crate) browser: Option<Arc<dyn IsBrowser>>,
}
