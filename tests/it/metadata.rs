//! Protected Resource Metadata (RFC 9728): the document the layer answers on
//! its well-known path (checked against the layer's own configuration), the
//! `resource_metadata` parameter of its 401 challenges, and the unchanged
//! answers when no metadata is configured.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;
use tower_mfa::{
    ConfigError, DpopConfig, ResourceMetadata, Rule, Sender, WELL_KNOWN_RESOURCE_METADATA,
};

use crate::harness::{self, Harness, Reply};
use crate::mint;

const RESOURCE: &str = "https://api.example.com";
const METADATA_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource";

fn metadata() -> ResourceMetadata {
    ResourceMetadata::new(RESOURCE)
        .authorization_server(mint::ISSUER)
        .resource_name("Partner API")
        .resource_documentation("https://api.example.com/docs")
}

/// Every route needs MFA, so only the metadata answer can let a request
/// without a token through.
fn harness(meta: Option<ResourceMetadata>) -> Harness {
    let mut b = harness::static_builder(&[mint::rsa_key()])
        .clock(harness::clock())
        .dpop(DpopConfig::new().public_origin(RESOURCE))
        .rule(Rule::mfa("/v1/customers/**").require_scope("customers.read"))
        .rule(
            Rule::mfa("/v1/orders/**")
                .require_scope("orders.write")
                .require_scope("customers.read"),
        )
        .rule(Rule::mfa("/v1/payments/**").sender(Sender::MtlsRequired))
        .rule(Rule::mfa("/**"));
    if let Some(meta) = meta {
        b = b.resource_metadata(meta);
    }
    Harness::new(b)
}

fn request(method: &str, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_document_lists_the_layers_own_configuration() {
    let h = harness(Some(metadata()));
    let reply = h.send(request("GET", WELL_KNOWN_RESOURCE_METADATA)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(!reply.reached(), "the layer answers the document itself");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.challenge(), None);
    let doc = reply.json();
    assert_eq!(
        doc,
        json!({
            "resource": RESOURCE,
            "authorization_servers": [mint::ISSUER],
            // The rules' scopes, in order, each once.
            "scopes_supported": ["customers.read", "orders.write"],
            "bearer_methods_supported": ["header"],
            // DPoP is configured: the proof algorithms the layer accepts.
            "dpop_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
            // A rule requires certificate-bound tokens.
            "tls_client_certificate_bound_access_tokens": true,
            "resource_name": "Partner API",
            "resource_documentation": "https://api.example.com/docs",
        })
    );
}

#[tokio::test]
async fn explicit_values_replace_the_derived_ones_and_empty_members_are_left_out() {
    let h = Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .rule(Rule::mfa("/**").require_scope("customers.read"))
            .resource_metadata(
                ResourceMetadata::new(RESOURCE)
                    .scopes_supported(["a", "b"])
                    .bearer_methods_supported(Vec::<String>::new())
                    .tls_client_certificate_bound_access_tokens(true),
            ),
    );
    let doc = h
        .send(request("GET", WELL_KNOWN_RESOURCE_METADATA))
        .await
        .json();
    assert_eq!(
        doc,
        json!({
            "resource": RESOURCE,
            "scopes_supported": ["a", "b"],
            "tls_client_certificate_bound_access_tokens": true,
        })
    );
}

#[tokio::test]
async fn head_answers_the_headers_and_other_methods_get_405() {
    let h = harness(Some(metadata()));
    let get = h.send(request("GET", WELL_KNOWN_RESOURCE_METADATA)).await;
    let head = h.send(request("HEAD", WELL_KNOWN_RESOURCE_METADATA)).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    assert_eq!(head.header("content-type"), Some("application/json"));
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let reply = h.send(request(method, WELL_KNOWN_RESOURCE_METADATA)).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{method}");
        assert!(!reply.reached());
    }
    assert_eq!(h.inner.calls(), 0);
}

#[tokio::test]
async fn a_resource_with_a_path_is_published_under_the_suffixed_path_only() {
    let h = harness(Some(ResourceMetadata::new(
        "https://api.example.com/v1/customers",
    )));
    let suffixed = format!("{WELL_KNOWN_RESOURCE_METADATA}/v1/customers");
    let reply = h.send(request("GET", &suffixed)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        reply.json()["resource"],
        "https://api.example.com/v1/customers"
    );
    // The bare path and other suffixes are ordinary routes (here: MFA).
    let expected = "Bearer resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/v1/customers\"";
    for path in [
        WELL_KNOWN_RESOURCE_METADATA.to_owned(),
        format!("{WELL_KNOWN_RESOURCE_METADATA}/v1"),
        format!("{suffixed}/"),
    ] {
        let reply = h.send(request("GET", &path)).await;
        reply.assert_refused(StatusCode::UNAUTHORIZED, Some(expected));
    }
}

#[tokio::test]
async fn the_401_challenges_carry_resource_metadata_and_403_ones_do_not() {
    let h = harness(Some(metadata()));
    let clock = harness::clock();
    let key = mint::rsa_key();

    let missing = h.send(harness::get("/v1/other", None)).await;
    missing.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some(&format!("Bearer resource_metadata=\"{METADATA_URL}\"")),
    );

    let invalid = h.get("/v1/other", "not.a.token").await;
    invalid.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some(&format!(
            "{}, resource_metadata=\"{METADATA_URL}\"",
            harness::INVALID_TOKEN
        )),
    );

    let pwd = key.token(&harness::user_at(&clock, &["pwd"]));
    let mfa = h.get("/v1/other", &pwd).await;
    mfa.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some(&format!(
            "Bearer error=\"invalid_token\", resource_metadata=\"{METADATA_URL}\""
        )),
    );
    assert_eq!(mfa.reason.as_deref(), Some("Unauthorized - MFA required"));

    let full = key.token(&harness::user_at(&clock, &["pwd", "mfa"]));
    let scope = h.get("/v1/orders/1", &full).await;
    scope.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"orders.write customers.read\""),
    );
    h.get("/v1/other", &full).await.assert_passed();
}

#[tokio::test]
async fn a_realm_and_the_dpop_challenges_carry_it_too() {
    let h = Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .realm("partner")
            .dpop(DpopConfig::new().public_origin(RESOURCE))
            .rule(Rule::mfa("/**").sender(Sender::DpopAllowed))
            .resource_metadata(metadata()),
    );
    let reply = h.send(harness::get("/v1/x", None)).await;
    let all: Vec<_> = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        all,
        [
            format!("Bearer realm=\"partner\", resource_metadata=\"{METADATA_URL}\""),
            format!(
                "DPoP algs=\"RS256 PS256 ES256 ES384 EdDSA\", resource_metadata=\"{METADATA_URL}\""
            ),
        ]
    );
}

#[tokio::test]
async fn without_metadata_the_well_known_path_is_an_ordinary_route_and_answers_stay_byte_exact() {
    let h = harness(None);
    let reply = h.send(request("GET", WELL_KNOWN_RESOURCE_METADATA)).await;
    reply.assert_refused(StatusCode::UNAUTHORIZED, Some("Bearer"));
    let invalid = h.get("/v1/other", "not.a.token").await;
    invalid.assert_invalid_token();
    let pwd = mint::rsa_key().token(&harness::user_at(&harness::clock(), &["pwd"]));
    h.get("/v1/other", &pwd).await.assert_mfa_required();
}

#[tokio::test]
async fn the_document_is_answered_on_the_original_path() {
    // Under a nested router the layer sees a stripped URI; the original
    // path decides, as for rules.
    let h = harness(Some(metadata()));
    let mut req = request("GET", "/oauth-protected-resource");
    req.extensions_mut().insert(tower_mfa::OriginalPath::new(
        WELL_KNOWN_RESOURCE_METADATA.parse().unwrap(),
    ));
    let reply: Reply = h.send(req).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["resource"], RESOURCE);
}

#[test]
fn bad_metadata_urls_are_build_errors_naming_the_setting() {
    let build = |meta: ResourceMetadata| {
        harness::static_builder(&[mint::rsa_key()])
            .resource_metadata(meta)
            .build()
            .map(|_| ())
    };
    let setting = |r: Result<(), ConfigError>| r.unwrap_err().setting().unwrap().to_owned();
    assert_eq!(
        setting(build(ResourceMetadata::new("http://api.example.com"))),
        "resource_metadata.resource"
    );
    assert_eq!(
        setting(build(ResourceMetadata::new("https://api.example.com/?a=b"))),
        "resource_metadata.resource"
    );
    assert_eq!(
        setting(build(ResourceMetadata::new("https://api.example.com/#f"))),
        "resource_metadata.resource"
    );
    assert_eq!(
        setting(build(ResourceMetadata::new("not a url"))),
        "resource_metadata.resource"
    );
    assert_eq!(
        setting(build(
            ResourceMetadata::new(RESOURCE).authorization_server("http://idp.example.com")
        )),
        "resource_metadata.authorization_servers"
    );
    assert_eq!(
        setting(build(
            ResourceMetadata::new(RESOURCE).resource_documentation("ftp://x")
        )),
        "resource_metadata.resource_documentation"
    );
    // Loopback http only when allowed.
    let loopback = harness::static_builder(&[mint::rsa_key()])
        .allow_http_loopback(true)
        .resource_metadata(ResourceMetadata::new("http://127.0.0.1:8080"))
        .build();
    assert!(loopback.is_ok());
}

#[cfg(feature = "config-file")]
#[tokio::test]
async fn toml_says_the_same_as_the_builder() {
    let jwks = mint::jwks(&[mint::rsa_key()]).to_string();
    let toml = format!(
        r#"
issuer = "{issuer}"
audiences = ["{aud}"]

[[rules]]
pattern = "/v1/payments/**"
access = "mfa"
sender = "mtls_required"
scopes = ["payments.write"]

[resource_metadata]
resource = "{RESOURCE}"
authorization_servers = ["{issuer}"]
resource_name = "Partner API"
resource_documentation = "https://api.example.com/docs"
"#,
        issuer = mint::ISSUER,
        aud = mint::AUDIENCE,
    );
    let from_file = tower_mfa::Builder::from_toml_str(&toml)
        .unwrap()
        .static_jwks(jwks.as_bytes())
        .unwrap();
    let from_code = harness::static_builder(&[mint::rsa_key()])
        .rule(
            Rule::mfa("/v1/payments/**")
                .sender(Sender::MtlsRequired)
                .require_scope("payments.write"),
        )
        .resource_metadata(metadata());
    let a = Harness::new(from_file)
        .send(request("GET", WELL_KNOWN_RESOURCE_METADATA))
        .await
        .json();
    let b = Harness::new(from_code)
        .send(request("GET", WELL_KNOWN_RESOURCE_METADATA))
        .await
        .json();
    assert_eq!(a, b);
    assert_eq!(
        a["tls_client_certificate_bound_access_tokens"],
        serde_json::Value::Bool(true)
    );
    assert_eq!(a["scopes_supported"], json!(["payments.write"]));
}

#[tokio::test]
async fn a_named_requirements_challenge_carries_it_too() {
    let h = Harness::new(
        harness::static_builder(&[mint::rsa_key()])
            .clock(harness::clock())
            .requirement(
                "recent",
                tower_mfa::Requirement::mfa().challenge_style(tower_mfa::ChallengeStyle::Rfc9470 {
                    acr_values: None,
                    max_age: Some(300),
                }),
            )
            .rule(Rule::mfa("/v1/admin/**").requirement("recent"))
            .rule(Rule::mfa("/**"))
            .resource_metadata(metadata()),
    );
    let pwd = mint::rsa_key().token(&harness::user_at(&harness::clock(), &["pwd"]));
    h.get("/v1/admin/x", &pwd).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some(&format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"Multi-factor authentication is required\", max_age=\"300\", resource_metadata=\"{METADATA_URL}\""
        )),
    );
    h.get("/v1/other", &pwd).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        Some(&format!(
            "Bearer error=\"invalid_token\", resource_metadata=\"{METADATA_URL}\""
        )),
    );
}
