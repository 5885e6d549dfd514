//! Interactive sign-in for the browser examples: an OIDC client found by
//! discovery, authorization requests (code + PKCE S256 + state + nonce) kept
//! in a bounded table, and the session cookies.

pub mod callback;
mod http;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::response::Response;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata,
};
use openidconnect::{
    AuthenticationContextClass, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LoginHint, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope,
};

pub use callback::CallbackQuery;
use http::OidcHttp;

use tower_mfa::RequireMfaLayer;

use crate::web::see_other;

/// The cookie that carries the access token; `RequireMfaLayer` reads it.
const TOKEN_COOKIE: &str = "tmfa_at";
/// Binds an authorization request to the browser that started it.
const FLOW_COOKIE: &str = "tmfa_flow";
/// How long an authorization request may take.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// Most pending authorization requests kept at once.
const MAX_FLOWS: usize = 10_000;

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the callback needs to finish one authorization request.
struct Flow {
    verifier: PkceCodeVerifier,
    nonce: Nonce,
    return_to: String,
    started: Instant,
}

/// The guard's start: the issuer's keys by discovery (a loopback `http`
/// issuer allowed), the token from the session cookie, browsers without MFA
/// sent to `/step-up`. The example adds its rules.
pub fn guard(issuer: &str, audience: String) -> tower_mfa::Builder {
    RequireMfaLayer::builder()
        .issuer(issuer.to_owned())
        .audience(audience)
        .discover_from_issuer()
        .allow_http_loopback(true)
        .token_cookie(TOKEN_COOKIE)
        .step_up_url("/step-up")
}

/// What one authorization request asks of the provider besides sign-in.
#[derive(Default)]
pub struct Ask<'a> {
    /// `prompt=login`: a fresh sign-in.
    pub prompt_login: bool,
    /// `acr_values`.
    pub acr_values: &'a [String],
    /// A `claims` request parameter (JSON).
    pub claims: Option<&'a str>,
}

/// Too many authorization requests are pending.
pub struct TooManyFlows;

/// The OIDC client and the pending authorization requests.
pub struct SignIn {
    client: OidcClient,
    http: OidcHttp,
    scopes: Vec<String>,
    secure_cookies: bool,
    flows: Mutex<HashMap<String, Flow>>,
}

impl SignIn {
    /// Discovers the provider at `issuer` (and its keys, for ID tokens) and
    /// registers `redirect_uri`; cookies are `Secure` when it is https.
    pub async fn discover(
        issuer: &str,
        client_id: String,
        client_secret: Option<String>,
        redirect_uri: &str,
        scopes: Vec<String>,
    ) -> Result<SignIn, Box<dyn std::error::Error>> {
        let http = OidcHttp::new()?;
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_owned())?, &http)
                .await
                .map_err(|e| format!("OIDC discovery at {issuer}: {e}"))?;
        let client: OidcClient = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id),
            client_secret.map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned())?);
        Ok(SignIn {
            client,
            http,
            scopes,
            secure_cookies: redirect_uri.starts_with("https://"),
            flows: Mutex::new(HashMap::new()),
        })
    }

    /// Starts an authorization request (code + PKCE S256 + state + nonce) and
    /// redirects the browser to the provider.
    pub fn start(
        &self,
        return_to: String,
        login_hint: Option<String>,
        ask: Ask<'_>,
    ) -> Result<Response, TooManyFlows> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        if ask.prompt_login {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        if let Some(hint) = login_hint {
            request = request.set_login_hint(LoginHint::new(hint));
        }
        for acr in ask.acr_values {
            request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
        }
        if let Some(claims) = ask.claims {
            request = request.add_extra_param("claims", claims.to_owned());
        }
        let (url, state, nonce) = request.url();

        {
            let mut flows = self.flows.lock().unwrap_or_else(|e| e.into_inner());
            flows.retain(|_, f| f.started.elapsed() < FLOW_TTL);
            if flows.len() >= MAX_FLOWS {
                return Err(TooManyFlows);
            }
            flows.insert(
                state.secret().clone(),
                Flow {
                    verifier,
                    nonce,
                    return_to,
                    started: Instant::now(),
                },
            );
        }
        let flow_cookie = self.cookie(FLOW_COOKIE, state.secret(), "/callback", FLOW_TTL.as_secs());
        Ok(see_other(url.as_str(), flow_cookie))
    }

    /// An `HttpOnly; SameSite=Lax` cookie (`Secure` behind https). `None` when
    /// the value cannot be a header (never for the values used here).
    pub fn cookie(&self, name: &str, value: &str, path: &str, max_age: u64) -> Option<HeaderValue> {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }

    /// Signs out: a redirect to `location` that drops the token cookie.
    pub fn sign_out(&self, location: &str) -> Response {
        see_other(location, self.cookie(TOKEN_COOKIE, "", "/", 0))
    }
}
