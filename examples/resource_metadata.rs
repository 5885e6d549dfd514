//! Protected Resource Metadata (RFC 9728): the layer publishes the document
//! that tells a client (an MCP client, an RFC 9728 library) which
//! authorization server issues tokens for this API, and its `401` challenges
//! point to it with `resource_metadata="…"`.
//!
//! ```text
//! cargo run --example resource_metadata           # print the document and a challenge
//! cargo run --example resource_metadata -- serve  # serve on 127.0.0.1:3000 and wait
//! ```
//!
//! It exits non-zero if an answer is not the expected one.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_mfa::{
    DpopConfig, RequireMfaLayer, ResourceMetadata, Rule, Sender, WELL_KNOWN_RESOURCE_METADATA,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mfa = RequireMfaLayer::builder()
        .issuer("https://idp.example.com/")
        .audience("https://api.example.com")
        .jwks_url("https://idp.example.com/keys")
        .dpop(DpopConfig::new().public_origin("https://api.example.com"))
        .rule(Rule::mfa("/v1/customers/**").require_scope("customers.read"))
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::MtlsRequired))
        // Every other route needs a token too: the document is still public.
        .default_access(tower_mfa::Access::Mfa)
        .resource_metadata(
            ResourceMetadata::new("https://api.example.com")
                .authorization_server("https://idp.example.com/")
                .resource_name("Customers API")
                .resource_documentation("https://api.example.com/docs"),
        )
        .build()?;
    let app = Router::new()
        .route("/v1/customers/{id}", get(|| async { "a customer" }))
        .layer(mfa);

    if std::env::args().nth(1).as_deref() == Some("serve") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        println!("curl -i http://127.0.0.1:3000{WELL_KNOWN_RESOURCE_METADATA}");
        axum::serve(listener, app).await?;
        return Ok(());
    }

    let mut wrong = 0;
    let document = app
        .clone()
        .oneshot(Request::get(WELL_KNOWN_RESOURCE_METADATA).body(Body::empty())?)
        .await?;
    let status = document.status();
    let body = document.into_body().collect().await?.to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body)?;
    println!("GET {WELL_KNOWN_RESOURCE_METADATA}: {status}");
    println!("{}", serde_json::to_string_pretty(&json)?);
    if status != StatusCode::OK || json["authorization_servers"][0] != "https://idp.example.com/" {
        wrong += 1;
    }

    let refused = app
        .oneshot(Request::get("/v1/customers/1").body(Body::empty())?)
        .await?;
    let challenge = refused
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    println!(
        "GET /v1/customers/1 without a token: {} {challenge}",
        refused.status()
    );
    if !challenge.contains(
        "resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\"",
    ) {
        wrong += 1;
    }
    if wrong > 0 {
        return Err(format!("{wrong} unexpected answers").into());
    }
    Ok(())
}
