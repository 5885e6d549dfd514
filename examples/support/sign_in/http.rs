//! The HTTP client the OIDC client uses: reqwest, following no redirects
//! (SSRF), with a timeout.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// reqwest behind openidconnect's `AsyncHttpClient`.
pub struct OidcHttp(reqwest::Client);

impl OidcHttp {
    /// A client that follows no redirects and gives up after ten seconds.
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(OidcHttp(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
        ))
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = self.0.execute(request).await?;
            let status = response.status();
            let version = response.version();
            let headers = response.headers().clone();
            let body = response.bytes().await?.to_vec();
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.version_mut() = version;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}
