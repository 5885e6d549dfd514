//! A partner dashboard guarded by `RequireMfaLayer`: server-rendered pages
//! (minijinja templates, one layout and navigation), interactive sign-in
//! (authorization code + PKCE) and MFA step-up on the pages that show
//! customer data.
//!
//! ```sh
//! ./scripts/dashboard.sh    # with the test OpenID Provider, see docs/DASHBOARD.md
//! ```
//!
//! or against any OpenID Provider:
//!
//! ```sh
//! TOWER_MFA_ISSUER=https://login.microsoftonline.com/<tenant>/v2.0 \
//! TOWER_MFA_AUDIENCE=<api app id uri or client id> \
//! TOWER_MFA_CLIENT_ID=<client id> TOWER_MFA_CLIENT_SECRET=<secret> \
//! TOWER_MFA_SCOPES="openid profile <api>/customers.read" \
//! TOWER_MFA_STEP_UP_CLAIMS='{"access_token":{"acrs":{"essential":true,"value":"c1"}}}' \
//! cargo run --example partner_dashboard
//! ```
//!
//! Pages and what they need:
//! - `/dashboard`: the overview, sign-in only.
//! - `/dashboard/customers` and `/dashboard/customers/{id}`: MFA.
//! - `/dashboard/support/customer-requests/**`: MFA.
//! - `/dashboard/support/partner-requests`: sign-in only.
//! - `/login`, `/step-up`, `/callback`, `POST /logout`, `/signed-out`, `/static/**`: public
//!   (the step-up reads a token when there is one).
//!
//! A browser (`Accept` lists `text/html`) without a valid token is sent to sign
//! in, and one without MFA on an MFA page to `/step-up`; any other refusal is
//! shown as an error page. Requests without `text/html` in `Accept` get the
//! layer's 401 answers unchanged, never a redirect. Every page is sent with
//! `Cache-Control: no-store`, so the back button after sign-out shows no
//! customer data. Unknown paths get a 404 page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Deserialize;
use tower_mfa::{Claims, Rule};

#[path = "support/sign_in/mod.rs"]
mod sign_in;
#[path = "support/web.rs"]
mod web;

use sign_in::callback::CallbackError;
use sign_in::{Ask, CallbackQuery, SignIn};
use web::{env, is_browser, local_path, path_of, required, see_other, to_login, user_of};

/// The `acr` the step-up asks for unless `TOWER_MFA_STEP_UP_ACR_VALUES` says otherwise.
const DEFAULT_STEP_UP_ACR: &str = "urn:tower-mfa:acr:mfa";

struct App {
    sign_in: SignIn,
    /// `acr_values` of the step-up request.
    step_up_acr: Vec<String>,
    /// A `claims` request parameter (JSON) for the step-up request.
    step_up_claims: Option<String>,
    pages: Environment<'static>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    web::init_tracing("tower_mfa=info,partner_dashboard=info");

    let issuer = required("TOWER_MFA_ISSUER")?;
    let audience = required("TOWER_MFA_AUDIENCE")?;
    let client_id = required("TOWER_MFA_CLIENT_ID")?;
    let client_secret = env("TOWER_MFA_CLIENT_SECRET");
    let scopes: Vec<String> = env("TOWER_MFA_SCOPES")
        .unwrap_or_else(|| "openid".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let step_up_claims = env("TOWER_MFA_STEP_UP_CLAIMS");
    let step_up_acr = env("TOWER_MFA_STEP_UP_ACR_VALUES")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| {
            if step_up_claims.is_some() {
                Vec::new()
            } else {
                vec![DEFAULT_STEP_UP_ACR.to_owned()]
            }
        });

    let (listener, base, redirect_uri) = web::listen().await?;
    let sign_in =
        SignIn::discover(&issuer, client_id, client_secret, &redirect_uri, scopes).await?;

    // The guard. The first matching rule wins.
    let mfa = sign_in::guard(&issuer, audience)
        .rule(Rule::public("/"))
        .rule(Rule::public("/healthz"))
        .rule(Rule::public("/static/**"))
        .rule(Rule::public("/login"))
        .rule(Rule::public("/callback"))
        .rule(Rule::public("/logout"))
        .rule(Rule::public("/signed-out"))
        .rule(Rule::optional("/step-up"))
        .rule(Rule::mfa("/dashboard/customers/**"))
        .rule(Rule::mfa("/dashboard/support/customer-requests/**"))
        .rule(Rule::authenticated("/dashboard/support/partner-requests"))
        .rule(Rule::authenticated("/dashboard/**"))
        // Anything else is a 404 page, with the user in the header when known.
        .rule(Rule::optional("/**"))
        .build()?;

    let app = Arc::new(App {
        sign_in,
        step_up_acr,
        step_up_claims,
        pages: templates()?,
    });

    let router = web::traced(
        Router::new()
            .route("/", get(|| async { see_other("/dashboard", None) }))
            .route("/healthz", get(|| async { "ok" }))
            .route("/static/dashboard.css", get(stylesheet))
            .route("/login", get(login))
            .route("/step-up", get(step_up_start))
            .route("/callback", get(callback))
            .route("/logout", post(logout))
            .route("/signed-out", get(signed_out))
            .route("/dashboard", get(overview))
            .route("/dashboard/customers", get(customers))
            .route("/dashboard/customers/{id}", get(customer))
            .route(
                "/dashboard/support",
                get(|| async { see_other("/dashboard/support/partner-requests", None) }),
            )
            .route(
                "/dashboard/support/customer-requests",
                get(customer_requests),
            )
            .route("/dashboard/support/partner-requests", get(partner_requests))
            .fallback(not_found)
            .with_state(Arc::clone(&app))
            .layer(mfa)
            .layer(middleware::from_fn_with_state(app, browser_answers)),
    );

    // One line on stdout, read by tests/dashboard.rs and scripts/dashboard.sh.
    println!("partner dashboard listening on {base} (issuer {issuer}, redirect {redirect_uri})");
    axum::serve(listener, router).await?;
    Ok(())
}

#[path = "support/dashboard/data.rs"]
mod data;
#[path = "support/dashboard/view.rs"]
mod view;

use data::{CUSTOMER_REQUESTS, CUSTOMERS, PARTNER_REQUESTS};
use view::{Crumb, User, templates};

impl App {
    /// Renders a page of the layout. A template error is a plain 500, logged
    /// without the page's data.
    fn render(&self, status: StatusCode, name: &str, page: Value) -> Response {
        let rendered = self.pages.get_template(name).and_then(|t| t.render(page));
        match rendered {
            Ok(html) => (status, no_store(), Html(html)).into_response(),
            Err(e) => {
                tracing::error!(target: "partner_dashboard", "template {name}: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    no_store(),
                    "the page could not be shown",
                )
                    .into_response()
            }
        }
    }

    fn error_page(&self, status: StatusCode, claims: Option<&Claims>, message: &str) -> Response {
        let title = match status {
            StatusCode::NOT_FOUND => "Page not found",
            StatusCode::FORBIDDEN => "Access denied",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            s if s.is_server_error() => "Something went wrong",
            _ => "Sign-in failed",
        };
        self.render(
            status,
            "error.html",
            context! {
                title,
                status => status.as_u16(),
                message,
                user => Serde(claims.map(User::from_claims)),
            },
        )
    }
}

fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

// --- pages ----------------------------------------------------------------------------------------

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("support/dashboard/dashboard.css"),
    )
        .into_response()
}

async fn overview(State(app): State<Arc<App>>, claims: Claims) -> Response {
    let open = CUSTOMER_REQUESTS
        .iter()
        .filter(|r| r.status != "Resolved")
        .count();
    app.render(
        StatusCode::OK,
        "overview.html",
        context! {
            title => "Overview",
            nav => "overview",
            user => Serde(User::from_claims(&claims)),
            customers => CUSTOMERS.iter().filter(|c| c.status == "Active").count(),
            open_requests => open,
            partner_requests => PARTNER_REQUESTS.len(),
        },
    )
}

async fn customers(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "customers.html",
        context! {
            title => "Customers",
            nav => "customers",
            user => Serde(User::from_claims(&claims)),
            customers => Serde(CUSTOMERS),
        },
    )
}

async fn customer(State(app): State<Arc<App>>, claims: Claims, Path(id): Path<String>) -> Response {
    let Some(customer) = CUSTOMERS.iter().find(|c| c.id == id) else {
        return app.error_page(
            StatusCode::NOT_FOUND,
            Some(&claims),
            "There is no customer with this address.",
        );
    };
    app.render(
        StatusCode::OK,
        "customer.html",
        context! {
            title => customer.name,
            nav => "customers",
            crumbs => Serde([Crumb { href: "/dashboard/customers", label: "Customers" }]),
            user => Serde(User::from_claims(&claims)),
            customer => Serde(customer),
        },
    )
}

async fn customer_requests(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "requests.html",
        context! {
            title => "Customer requests",
            nav => "customer-requests",
            crumbs => Serde([Crumb { href: "/dashboard/support/partner-requests", label: "Support" }]),
            lead => "Service requests you opened on behalf of your customers.",
            who_heading => "Customer",
            user => Serde(User::from_claims(&claims)),
            requests => Serde(CUSTOMER_REQUESTS),
        },
    )
}

async fn partner_requests(State(app): State<Arc<App>>, claims: Claims) -> Response {
    app.render(
        StatusCode::OK,
        "requests.html",
        context! {
            title => "Partner requests",
            nav => "partner-requests",
            crumbs => Serde([Crumb { href: "/dashboard/support/partner-requests", label: "Support" }]),
            lead => "Your own requests with partner support: no customer data, so no MFA needed.",
            who_heading => "With",
            user => Serde(User::from_claims(&claims)),
            requests => Serde(PARTNER_REQUESTS),
        },
    )
}

async fn signed_out(State(app): State<Arc<App>>) -> Response {
    app.render(
        StatusCode::OK,
        "signed_out.html",
        context! { title => "Signed out" },
    )
}

async fn not_found(State(app): State<Arc<App>>, claims: Option<Claims>) -> Response {
    app.error_page(
        StatusCode::NOT_FOUND,
        claims.as_ref(),
        "The page you asked for does not exist.",
    )
}

// --- sign-in --------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

async fn login(State(app): State<Arc<App>>, Query(q): Query<ReturnTo>) -> Response {
    app.start(local_path(q.return_to.as_deref()), None, false)
}

async fn step_up_start(
    State(app): State<Arc<App>>,
    claims: Option<Claims>,
    Query(q): Query<ReturnTo>,
) -> Response {
    let return_to = local_path(q.return_to.as_deref());
    let hint = claims.as_ref().map(|c| user_of(c).to_owned());
    // Read by tests/dashboard.rs.
    println!("step-up: return_to={return_to}");
    app.start(return_to, hint, true)
}

impl App {
    /// Starts an authorization request (`prompt=login`: every sign-in is a
    /// fresh one). A step-up also asks for MFA.
    fn start(&self, return_to: String, login_hint: Option<String>, step_up: bool) -> Response {
        let ask = Ask {
            prompt_login: true,
            acr_values: if step_up { &self.step_up_acr } else { &[] },
            claims: self.step_up_claims.as_deref().filter(|_| step_up),
        };
        self.sign_in
            .start(return_to, login_hint, ask)
            .unwrap_or_else(|_| {
                self.error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "Too many sign-ins are in progress. Try again in a few minutes.",
                )
            })
    }
}

async fn callback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let e = match app.sign_in.finish(&headers, q).await {
        Ok(response) => return response,
        Err(e) => e,
    };
    // The provider's error text and the details of a failed exchange are not
    // shown: they come from outside.
    let why = match &e {
        CallbackError::NoState => "no state",
        CallbackError::ForeignState => "the sign-in was not started in this browser",
        CallbackError::UnknownState => "unknown or expired sign-in",
        CallbackError::Refused(..) => "the identity provider refused it",
        CallbackError::NoCode => "no code",
        CallbackError::NoTokenEndpoint(_) => "no token endpoint",
        CallbackError::Exchange(_) => {
            tracing::warn!(target: "partner_dashboard", "{}", e.detail());
            "the code exchange failed"
        }
        CallbackError::NoIdToken => "no ID token",
        CallbackError::IdToken(_) => {
            tracing::warn!(target: "partner_dashboard", "{}", e.detail());
            "the ID token is not valid"
        }
        CallbackError::NotJwt => "the access token is not a JWT",
    };
    tracing::warn!(target: "partner_dashboard", "sign-in failed: {why}");
    app.error_page(e.status(), None, &format!("Sign-in failed: {why}."))
}

async fn logout(State(app): State<Arc<App>>) -> Response {
    app.sign_in.sign_out("/signed-out")
}

/// What a browser (`GET` with `text/html` in `Accept`) sees instead of the
/// layer's API answers: without a valid token, the sign-in; any other refusal
/// that is not already a page, an error page. Every other request, and every
/// API client, gets the answer unchanged.
async fn browser_answers(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let browser = is_browser(&request);
    let path = path_of(&request);
    let response = next.run(request).await;
    if !browser {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return to_login(&path);
    }
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_page {
        let message = match status {
            StatusCode::FORBIDDEN => "Your account may not open this page.",
            StatusCode::SERVICE_UNAVAILABLE => {
                "The sign-in service cannot be reached right now. Try again in a moment."
            }
            StatusCode::NOT_FOUND => "The page you asked for does not exist.",
            _ => "The request could not be completed.",
        };
        let mut page = app.error_page(status, None, message);
        if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
            page.headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
        return page;
    }
    response
}
