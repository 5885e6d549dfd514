//! The redirect URI: checks the state against this browser, exchanges the
//! code with the PKCE verifier, verifies the ID token and its nonce and stores
//! the access token in a cookie.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use openidconnect::{AuthorizationCode, OAuth2TokenResponse, TokenResponse};
use serde::Deserialize;

use super::{FLOW_COOKIE, FLOW_TTL, SignIn, TOKEN_COOKIE};
use crate::web::{request_cookie, see_other};

/// The query of the redirect URI.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why a sign-in could not be finished.
pub enum CallbackError {
    /// No `state`.
    NoState,
    /// The `state` is not the one this browser started (login CSRF).
    ForeignState,
    /// No pending request has this `state`, or it took too long.
    UnknownState,
    /// The provider answered with `error` and `error_description`.
    Refused(String, String),
    /// No `code`.
    NoCode,
    /// The client cannot exchange codes.
    NoTokenEndpoint(String),
    /// The code exchange failed.
    Exchange(String),
    /// The token response has no ID token.
    NoIdToken,
    /// The ID token is not valid.
    IdToken(String),
    /// The access token is not a JWT.
    NotJwt,
}

impl CallbackError {
    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NoState | Self::ForeignState | Self::UnknownState | Self::NoCode => {
                StatusCode::BAD_REQUEST
            }
            Self::Refused(..) => StatusCode::UNAUTHORIZED,
            Self::NoTokenEndpoint(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Exchange(_) | Self::NoIdToken | Self::IdToken(_) | Self::NotJwt => {
                StatusCode::BAD_GATEWAY
            }
        }
    }
}

impl CallbackError {
    /// What went wrong in full, with the provider's and the client library's
    /// words: for logs, or for a demo that shows everything.
    pub fn detail(&self) -> String {
        match self {
            Self::NoState => "no state".to_owned(),
            Self::ForeignState => "state does not belong to this browser".to_owned(),
            Self::UnknownState => "unknown or expired state".to_owned(),
            Self::Refused(error, description) => format!("{error}: {description}"),
            Self::NoCode => "no code".to_owned(),
            Self::NoTokenEndpoint(e) => e.clone(),
            Self::Exchange(e) => format!("code exchange: {e}"),
            Self::NoIdToken => "no ID token".to_owned(),
            Self::IdToken(e) => format!("ID token: {e}"),
            Self::NotJwt => "the access token is not a JWT".to_owned(),
        }
    }
}

impl SignIn {
    /// Finishes the sign-in: a redirect to the request's `return_to` that sets
    /// the token cookie and drops the flow cookie.
    pub async fn finish(
        &self,
        headers: &HeaderMap,
        q: CallbackQuery,
    ) -> Result<Response, CallbackError> {
        let state = q.state.ok_or(CallbackError::NoState)?;
        if request_cookie(headers, FLOW_COOKIE) != Some(state.as_str()) {
            return Err(CallbackError::ForeignState);
        }
        let flow = self
            .flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&state);
        let flow = flow
            .filter(|f| f.started.elapsed() < FLOW_TTL)
            .ok_or(CallbackError::UnknownState)?;
        if let Some(error) = q.error {
            return Err(CallbackError::Refused(
                error,
                q.error_description.unwrap_or_default(),
            ));
        }
        let code = q.code.ok_or(CallbackError::NoCode)?;

        let request = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| CallbackError::NoTokenEndpoint(e.to_string()))?;
        let tokens = request
            .set_pkce_verifier(flow.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| CallbackError::Exchange(e.to_string()))?;
        // The ID token: signature, issuer, audience, expiry and our nonce.
        let id_token = tokens.id_token().ok_or(CallbackError::NoIdToken)?;
        id_token
            .claims(&self.client.id_token_verifier(), &flow.nonce)
            .map_err(|e| CallbackError::IdToken(e.to_string()))?;
        let access_token = tokens.access_token().secret();
        // A JWT is base64url plus dots: safe in a cookie value as it is.
        if access_token.is_empty()
            || !access_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(CallbackError::NotJwt);
        }
        let max_age = tokens
            .expires_in()
            .map_or(3600, |d| d.as_secs())
            .min(24 * 3600);

        let mut response = see_other(
            &flow.return_to,
            self.cookie(TOKEN_COOKIE, access_token, "/", max_age),
        );
        if let Some(clear) = self.cookie(FLOW_COOKIE, "", "/callback", 0) {
            response.headers_mut().append(header::SET_COOKIE, clear);
        }
        Ok(response)
    }
}
