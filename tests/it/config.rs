//! Configuration from a TOML file (feature `config-file`): a
//! whole file builds a layer that behaves as configured, mistakes are clear
//! `ConfigError`s, and exemptions reload from TOML without a rebuild.
#![cfg(feature = "config-file")]

use crate::mint;

use crate::harness;

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use harness::{Reply, clock, user_at};

use http::{Method, Request, Response, StatusCode};
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_mfa::clock::ManualClock;
use tower_mfa::{Builder, ConfigError, Decision, ExemptSubject, Exemptions, RequireMfaLayer};

const OID: &str = "4988e250-5aee-482a-9136-6d269cb755c0";
const APP_ID: &str = "23ec45a3-5127-4185-9eff-c8887839e6ab";

/// The inner service: the harness's marked answer plus the decision's
/// exemption and report.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut response = harness::inner_response(&req);
    if let Some(d) = req.extensions().get::<Decision>() {
        let headers = response.headers_mut();
        headers.insert(
            "x-exemption",
            d.exemption().unwrap_or("none").parse().unwrap(),
        );
        headers.insert(
            "x-reported",
            d.reported().map_or("none", |r| r.as_str()).parse().unwrap(),
        );
    }
    Ok(response)
}

async fn send(layer: &RequireMfaLayer, req: Request<Body>) -> Reply {
    let service = layer.layer(tower::service_fn(echo));
    Reply::read(service.oneshot(req).await.expect("infallible")).await
}

async fn get(layer: &RequireMfaLayer, path: &str, token: &str) -> Reply {
    send(layer, harness::get(path, Some(token))).await
}

/// The sample user claims with this `amr`, signed in a minute ago (the full
/// file sets `max_age_seconds`).
fn user(clock: &ManualClock, amr: &[&str]) -> serde_json::Value {
    let mut claims = user_at(clock, amr);
    claims["auth_time"] = json!(harness::secs(clock) - 60);
    claims
}

fn token(claims: &serde_json::Value) -> String {
    mint::rsa_key().token(claims)
}

/// A whole configuration, trusting the test JWKS server.
fn full_config(jwks_url: &str) -> String {
    format!(
        r#"
issuer = "{issuer}"
audiences = ["api://other", "{audience}"]
jwks_url = "{jwks_url}"
allow_http_loopback = true
default_access = "authenticated"
app_only = "deny"
leeway_seconds = 30
max_lifetime_seconds = 7200
realm = "partner-api"
step_up_url = "https://login.example.test/step-up"
token_cookie = "session"

[mfa]
equivalents = ["ngcmfa"]
accept_acr = ["c1"]
max_age_seconds = 3600

[tenants]
allow = ["{tenant}"]

[[rules]]
pattern = "/healthz"
access = "public"

[[rules]]
name = "invoice writes"
pattern = "/v1/invoices/**"
access = "mfa"
methods = ["POST", "DELETE"]
scopes = ["Invoices.Write"]

[[rules]]
pattern = "/v1/reports/**"
access = "mfa"
mode = "report_only"

[[rules]]
pattern = "/v1/preview/**"
access = "mfa"
enforce_from = 2999-01-01T00:00:00Z

[[rules]]
pattern = "/v1/**"
access = "mfa"

[[rules]]
pattern = "/dashboard"
access = "authenticated"

[[exemptions]]
id = "EXC-EXPIRED"
user = "{oid}"
reason = "expired long ago"
expires = 2001-01-01T00:00:00Z
"#,
        issuer = mint::ISSUER,
        audience = mint::AUDIENCE,
        tenant = mint::TENANT,
        oid = OID,
    )
}

async fn full_layer() -> (RequireMfaLayer, ManualClock, Exemptions, mint::JwksServer) {
    let server = mint::JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let clock = clock();
    let builder = Builder::from_toml_str(&full_config(&server.jwks_url())).expect("valid file");
    let exemptions = builder.exemptions_handle();
    assert_eq!(exemptions.len(), 1);
    let layer = builder.clock(clock.clone()).build().expect("builds");
    (layer, clock, exemptions, server)
}

#[tokio::test]
async fn a_full_file_builds_a_layer_that_behaves_as_configured() {
    let (layer, clock, _, server) = full_layer().await;
    let password = token(&user(&clock, &["pwd"]));
    let with_mfa = token(&user(&clock, &["pwd", "mfa"]));

    // Public route, no token.
    send(&layer, harness::get("/healthz", None))
        .await
        .assert_passed();
    // No token elsewhere: the configured realm.
    send(&layer, harness::get("/v1/customers", None))
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            Some("Bearer realm=\"partner-api\""),
        );
    // default_access = authenticated for unmatched routes.
    get(&layer, "/elsewhere", &password).await.assert_passed();

    // `mfa` route: keys come from the configured JWKS URL.
    get(&layer, "/v1/customers", &password)
        .await
        .assert_mfa_required();
    let reply = get(&layer, "/v1/customers", &with_mfa).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-mfa"), Some("amr"));
    assert!(server.jwks_hits() >= 1);
    get(&layer, "/dashboard", &password).await.assert_passed();

    // [mfa]: equivalents replaced (multipleauthn no longer counts), acr accepted.
    get(&layer, "/v1/customers", &token(&user(&clock, &["ngcmfa"])))
        .await
        .assert_passed();
    get(
        &layer,
        "/v1/customers",
        &token(&user(
            &clock,
            &["http://schemas.microsoft.com/claims/multipleauthn"],
        )),
    )
    .await
    .assert_mfa_required();
    let mut acr = user(&clock, &["pwd"]);
    acr["acr"] = json!("c1");
    let reply = get(&layer, "/v1/customers", &token(&acr)).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-mfa"), Some("acr"));
    // max_age_seconds: an MFA from two hours ago is too old.
    let mut old = user(&clock, &["mfa"]);
    old["auth_time"] = json!(harness::secs(&clock) - 7200);
    get(&layer, "/v1/customers", &token(&old))
        .await
        .assert_mfa_required();

    // Rule with methods and scopes: POST needs the scope (403), GET falls
    // through to `/v1/**`.
    let post = |t: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/invoices/7")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let reply = send(&layer, post(&with_mfa)).await;
    reply.assert_refused(
        StatusCode::FORBIDDEN,
        Some("Bearer error=\"insufficient_scope\", scope=\"Invoices.Write\""),
    );
    let mut scoped = user(&clock, &["mfa"]);
    scoped["scp"] = json!("user_impersonation Invoices.Write");
    let reply = send(&layer, post(&token(&scoped))).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-rule"), Some("invoice writes"));
    let reply = get(&layer, "/v1/invoices/7", &with_mfa).await;
    assert_eq!(reply.header("x-rule"), Some("/v1/**"));

    // report_only, and enforce_from in the future: reported, let through.
    for path in ["/v1/reports/q1", "/v1/preview/x"] {
        let reply = get(&layer, path, &password).await;
        reply.assert_passed();
        assert_eq!(reply.header("x-reported"), Some("no_mfa_proof"), "{path}");
    }

    // app_only = deny.
    let app = token(&harness::at(&clock, mint::app_claims()));
    let reply = get(&layer, "/v1/customers", &app).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(!reply.reached());

    // max_lifetime_seconds = 7200.
    let mut long = user(&clock, &["mfa"]);
    long["exp"] = json!(harness::secs(&clock) + 3 * 3600);
    get(&layer, "/v1/customers", &token(&long))
        .await
        .assert_invalid_token();
    // leeway_seconds = 30: expired 20 s ago passes, 40 s ago does not.
    let mut recent = user(&clock, &["mfa"]);
    recent["exp"] = json!(harness::secs(&clock) - 20);
    get(&layer, "/v1/customers", &token(&recent))
        .await
        .assert_passed();
    recent["exp"] = json!(harness::secs(&clock) - 40);
    get(&layer, "/v1/customers", &token(&recent))
        .await
        .assert_invalid_token();

    // The second audience is accepted, others are not.
    let mut other = user(&clock, &["mfa"]);
    other["aud"] = json!("api://other");
    get(&layer, "/v1/customers", &token(&other))
        .await
        .assert_passed();
    other["aud"] = json!("api://third");
    get(&layer, "/v1/customers", &token(&other))
        .await
        .assert_invalid_token();

    // token_cookie.
    let req = Request::get("/v1/customers")
        .header("cookie", format!("session={with_mfa}"))
        .body(Body::empty())
        .unwrap();
    send(&layer, req).await.assert_passed();

    // step_up_url: browsers without MFA are redirected.
    let req = Request::get("/v1/customers")
        .header("authorization", format!("Bearer {password}"))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let reply = send(&layer, req).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .header("location")
            .is_some_and(|l| l.starts_with("https://login.example.test/step-up?return_to=")),
        "{reply:?}"
    );
}

#[tokio::test]
async fn tenant_lists_and_discovery_from_a_file() {
    let server = mint::JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let clock = clock();
    let config = format!(
        r#"
issuer = "{}"
audiences = ["{}"]
discovery_url = "{}"
allow_http_loopback = true
[tenants]
deny = ["{}"]
"#,
        mint::ISSUER,
        mint::AUDIENCE,
        server.discovery_url(),
        mint::TENANT.to_ascii_uppercase(),
    );
    let layer = Builder::from_toml_str(&config)
        .unwrap()
        .clock(clock.clone())
        .build()
        .unwrap();
    get(&layer, "/anything", &token(&user(&clock, &["mfa"])))
        .await
        .assert_invalid_token();
    assert!(server.discovery_hits() >= 1);
}

// ------------------------------------------------------------ exemptions

#[tokio::test]
async fn exemptions_from_the_file_apply_and_reload_from_toml() {
    let (layer, clock, exemptions, _server) = full_layer().await;
    let password = token(&user(&clock, &["pwd"]));
    // The file's only exemption has expired.
    get(&layer, "/v1/customers", &password)
        .await
        .assert_mfa_required();

    let reload = format!(
        r#"
[[exemptions]]
id = "EXC-2025-014"
user = "{OID}"
reason = "MFA registration pending"
expires = 2999-12-31T23:59:59Z

[[exemptions]]
id = "EXC-2025-015"
app = "{APP_ID}"
reason = "legacy export"
expires = "2999-12-31T23:59:59+01:00"
"#
    );
    exemptions.reload_from_toml_str(&reload).unwrap();
    assert_eq!(exemptions.len(), 2);
    let reply = get(&layer, "/v1/customers", &password).await;
    reply.assert_passed();
    assert_eq!(reply.header("x-exemption"), Some("EXC-2025-014"));

    // A broken reload is refused whole: the current list stays.
    let err = exemptions
        .reload_from_toml_str(
            "[[exemptions]]\nid = \"X\"\nreason = \"r\"\nexpires = 2999-01-01T00:00:00Z\n",
        )
        .unwrap_err();
    assert!(err.to_string().contains("exactly one of"), "{err}");
    assert_eq!(exemptions.len(), 2);
    get(&layer, "/v1/customers", &password)
        .await
        .assert_passed();

    // Reload from a file (here: a whole configuration file, whose other
    // settings are checked but not applied).
    let path = temp_file(
        "reload.toml",
        &full_config("https://unused.example.test/jwks"),
    );
    exemptions.reload_from_toml_file(&path).unwrap();
    assert_eq!(exemptions.len(), 1);
    get(&layer, "/v1/customers", &password)
        .await
        .assert_mfa_required();
    std::fs::remove_file(&path).ok();

    // Reading exemptions alone into a new set.
    let fresh = Exemptions::from_toml_str(&reload).unwrap();
    let list = fresh.snapshot();
    assert_eq!(list[0].subject, ExemptSubject::User(OID.into()));
    assert_eq!(list[1].subject, ExemptSubject::App(APP_ID.into()));
    assert_eq!(list[0].reason, "MFA registration pending");
    assert_eq!(
        list[1].expires,
        UNIX_EPOCH + Duration::from_secs(32_503_676_399)
    );
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tower-mfa-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn from_toml_file_reads_the_file_and_names_it_in_errors() {
    let good = temp_file(
        "good.toml",
        &format!(
            "issuer = \"{}\"\naudiences = [\"{}\"]\njwks_url = \"https://login.example.test/keys\"\n",
            mint::ISSUER,
            mint::AUDIENCE
        ),
    );
    Builder::from_toml_file(&good).unwrap().build().unwrap();
    let bad = temp_file("bad.toml", "issuer = \"x\"\naudience = \"y\"\n");
    let err = Builder::from_toml_file(&bad).err().unwrap().to_string();
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(err.contains("unknown field `audience`"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    let missing = std::env::temp_dir().join("tower-mfa-does-not-exist.toml");
    let err = Builder::from_toml_file(&missing).err().unwrap().to_string();
    assert!(err.contains("cannot read"), "{err}");
    assert!(Exemptions::from_toml_file(&missing).is_err());
    std::fs::remove_file(good).ok();
    std::fs::remove_file(bad).ok();
}

// ---------------------------------------------------------------- errors

#[track_caller]
fn error(toml: &str) -> String {
    match Builder::from_toml_str(toml) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn assert_error(toml: &str, needles: &[&str]) {
    let err = error(toml);
    assert!(
        err.starts_with("invalid tower-mfa configuration: "),
        "{err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    assert_error("isuer = \"x\"\n", &["unknown field `isuer`", "issuer"]);
    assert_error(
        "[[rules]]\npattern = \"/a\"\naccess = \"mfa\"\nscope = [\"x\"]\n",
        &["unknown field `scope`", "scopes"],
    );
    assert_error(
        "[mfa]\nmax_age = 60\n",
        &["unknown field `max_age`", "max_age_seconds"],
    );
    assert_error("[tenants]\nallowed = []\n", &["unknown field `allowed`"]);
    assert_error(
        "[[exemptions]]\nid = \"E\"\ntenant = \"t\"\nreason = \"r\"\nexpires = 2999-01-01T00:00:00Z\nticket = 5\n",
        &["unknown field `ticket`"],
    );
}

#[test]
fn invalid_patterns_methods_and_access_values_are_errors() {
    assert_error(
        "[[rules]]\npattern = \"/ok\"\naccess = \"public\"\n[[rules]]\npattern = \"/v1/cust*\"\naccess = \"mfa\"\n",
        &["rules[1]", "/v1/cust*", "'*' must be a whole segment"],
    );
    assert_error(
        "[[rules]]\npattern = \"v1/**\"\naccess = \"mfa\"\n",
        &["rules[0]", "must start with '/'"],
    );
    assert_error(
        "[[rules]]\npattern = \"/v1\"\naccess = \"MFA\"\n",
        &[
            "unknown variant `MFA`",
            "public",
            "optional",
            "authenticated",
            "mfa",
        ],
    );
    assert_error(
        "default_access = \"everyone\"\n",
        &["unknown variant `everyone`"],
    );
    assert_error(
        "app_only = \"yes\"\n",
        &["unknown variant `yes`", "require_mfa"],
    );
    assert_error(
        "[[rules]]\npattern = \"/v1\"\naccess = \"mfa\"\nmode = \"audit\"\n",
        &["unknown variant `audit`", "report_only"],
    );
    assert_error(
        "[[rules]]\npattern = \"/v1\"\naccess = \"mfa\"\nmethods = [\"get\"]\n",
        &["rules[0]", "\"get\" is not an HTTP method"],
    );
    assert_error(
        "[[rules]]\npattern = \"/v1\"\naccess = \"mfa\"\nmethods = [\"GE T\"]\n",
        &["\"GE T\" is not an HTTP method"],
    );
    assert_error(
        "[[rules]]\naccess = \"mfa\"\n",
        &["missing field `pattern`"],
    );
}

#[test]
fn values_of_the_wrong_shape_are_errors() {
    assert_error(
        "leeway_seconds = \"60\"\n",
        &["leeway_seconds", "invalid type"],
    );
    assert_error("leeway_seconds = -1\n", &["leeway_seconds"]);
    assert_error("audiences = \"one\"\n", &["audiences", "invalid type"]);
    assert_error("issuer = \n", &["line 1"]);
    assert_error(
        "jwks_url = \"https://a.test/k\"\ndiscovery_url = \"https://a.test/d\"\n",
        &["`jwks_url` or `discovery_url`, not both"],
    );
    // Instants need an explicit offset.
    for bad in [
        "2026-06-30T00:00:00",
        "2026-06-30",
        "1782777600",
        "\"next week\"",
    ] {
        let toml =
            format!("[[rules]]\npattern = \"/v1\"\naccess = \"mfa\"\nenforce_from = {bad}\n");
        assert_error(&toml, &["enforce_from"]);
    }
    let err = error(
        "[[rules]]\npattern = \"/v1\"\naccess = \"mfa\"\nenforce_from = 2026-06-30T00:00:00\n",
    );
    assert!(err.contains("has no offset"), "{err}");
}

#[test]
fn invalid_exemptions_are_errors() {
    let ex = |body: &str| format!("[[exemptions]]\n{body}\n");
    let exp = "expires = 2999-01-01T00:00:00Z";
    assert_error(
        &ex(&format!("id = \"E\"\nreason = \"r\"\n{exp}")),
        &["exemptions[0]", "exactly one of `tenant`, `user` or `app`"],
    );
    assert_error(
        &ex(&format!(
            "id = \"E\"\nuser = \"u\"\napp = \"a\"\nreason = \"r\"\n{exp}"
        )),
        &["exactly one of"],
    );
    assert_error(
        &ex(&format!("id = \"\"\nuser = \"u\"\nreason = \"r\"\n{exp}")),
        &["`id` must not be empty"],
    );
    assert_error(
        &ex(&format!("id = \"E\"\nuser = \"u\"\nreason = \" \"\n{exp}")),
        &["`reason` must not be empty"],
    );
    assert_error(
        &ex(&format!("id = \"E\"\nuser = \"\"\nreason = \"r\"\n{exp}")),
        &["`user` must not be empty"],
    );
    assert_error(
        &format!(
            "{}{}",
            ex(&format!("id = \"E\"\nuser = \"u\"\nreason = \"r\"\n{exp}")),
            ex(&format!("id = \"E\"\napp = \"a\"\nreason = \"r\"\n{exp}"))
        ),
        &["exemptions[1]", "duplicate id \"E\""],
    );
    assert_error(
        &ex("id = \"E\"\nuser = \"u\"\nexpires = 2999-01-01T00:00:00Z"),
        &["missing field `reason`"],
    );
    assert_error(
        &ex("id = \"E\"\nuser = \"u\"\nreason = \"r\""),
        &["missing field `expires`"],
    );
    assert!(Exemptions::from_toml_str(&ex("id = \"E\"\nreason = \"r\"")).is_err());
    assert_error(
        &ex(&format!(
            "id = \"E\"\nuser = \"u\"\ndelegated = true\nreason = \"r\"\n{exp}"
        )),
        &["`delegated` applies to `app` exemptions only"],
    );
    assert_error(
        &ex(&format!(
            "id = \"E\"\ntenant = \"t\"\ndelegated = true\nreason = \"r\"\n{exp}"
        )),
        &["`delegated` applies to `app` exemptions only"],
    );
    assert_error(
        &ex(&format!(
            "id = \"E\"\nuser = \"u\"\ntenant = \" \"\nreason = \"r\"\n{exp}"
        )),
        &["`tenant` must not be empty"],
    );
}

#[test]
fn exemption_keys_delegated_and_tenant() {
    let exp = "expires = 2999-01-01T00:00:00Z";
    let list = Exemptions::from_toml_str(&format!(
        "[[exemptions]]\nid = \"A\"\napp = \"a\"\nreason = \"r\"\n{exp}\n\
         [[exemptions]]\nid = \"D\"\napp = \"a\"\ndelegated = true\ntenant = \"t1\"\nreason = \"r\"\n{exp}\n\
         [[exemptions]]\nid = \"U\"\nuser = \"u\"\ntenant = \"t2\"\nreason = \"r\"\n{exp}\n\
         [[exemptions]]\nid = \"T\"\ntenant = \"t3\"\nreason = \"r\"\n{exp}\n"
    ))
    .unwrap()
    .snapshot();
    // An app exemption is not delegated unless it says so.
    assert_eq!(list[0].subject, ExemptSubject::App("a".into()));
    assert!(!list[0].delegated);
    assert_eq!(list[0].tenant, None);
    assert!(list[1].delegated);
    assert_eq!(list[1].tenant.as_deref(), Some("t1"));
    // `tenant` beside `user` limits it; alone it names the tenant.
    assert_eq!(list[2].subject, ExemptSubject::User("u".into()));
    assert_eq!(list[2].tenant.as_deref(), Some("t2"));
    assert_eq!(list[3].subject, ExemptSubject::Tenant("t3".into()));
    assert_eq!(list[3].tenant, None);
}

#[test]
fn build_still_checks_what_the_file_leaves_out() {
    let err = Builder::from_toml_str("audiences = [\"a\"]\njwks_url = \"https://a.test/k\"\n")
        .unwrap()
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("issuer"), "{err}");
    // Insecure URLs are refused unless allowed for loopback.
    let err = Builder::from_toml_str(
        "issuer = \"i\"\naudiences = [\"a\"]\njwks_url = \"http://127.0.0.1:1/k\"\n",
    )
    .unwrap()
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("must be https"), "{err}");
    // Code can complete a file, e.g. with static keys.
    Builder::from_toml_str(&format!(
        "issuer = \"{}\"\naudiences = [\"{}\"]\n",
        mint::ISSUER,
        mint::AUDIENCE
    ))
    .unwrap()
    .static_jwks(mint::jwks(&[mint::rsa_key()]).to_string().as_bytes())
    .unwrap()
    .build()
    .unwrap();
}

// ------------------------------------------------------------------ docs

/// The ```toml blocks of a Markdown file.
fn toml_blocks(doc: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```toml\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed block");
        blocks.push(&body[..end]);
        rest = &body[end + 3..];
    }
    blocks
}

/// Every ```toml block of the docs (the guide and the identity provider
/// recipes of `docs/providers/` too) and the README parses: configuration
/// files as the layer reads them (and build when they name an issuer),
/// Cargo manifest snippets as TOML.
#[test]
fn the_documented_examples_parse() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = vec![std::path::PathBuf::from(format!("{root}/README.md"))];
    for dir in ["docs", "docs/providers"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    // Pages whose recipes must keep their configuration blocks.
    let at_least = [
        ("GUIDE.md", 1),
        ("ENTRA.md", 1),
        ("okta.md", 1),
        ("auth0.md", 1),
        ("keycloak.md", 2),
    ];
    let mut config_blocks = 0;
    for file in files {
        let doc = std::fs::read_to_string(&file).unwrap();
        let blocks = toml_blocks(&doc);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if let Some((_, least)) = at_least.iter().find(|(n, _)| *n == name) {
            assert!(
                blocks.len() >= *least,
                "{name}: {} TOML blocks",
                blocks.len()
            );
        }
        for toml in blocks {
            let at = file.display();
            if toml.contains("tower-mfa = ") {
                toml::from_str::<toml::Table>(toml).unwrap_or_else(|e| panic!("{at}: {e}\n{toml}"));
                continue;
            }
            let builder =
                Builder::from_toml_str(toml).unwrap_or_else(|e| panic!("{at}: {e}\n{toml}"));
            if toml.contains("issuer") {
                builder
                    .build()
                    .unwrap_or_else(|e| panic!("{at}: {e}\n{toml}"));
            }
            config_blocks += 1;
        }
    }
    assert!(
        config_blocks >= 3,
        "found {config_blocks} configuration blocks"
    );
}

/// The demo's configuration file parses and builds (with an issuer and keys
/// from code, as the demo supplies them).
#[test]
fn the_demo_configuration_builds() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/partner-center.toml"
    ))
    .unwrap();
    Builder::from_toml_str(&text)
        .unwrap()
        .issuer("https://issuer.example")
        .audience("api://demo")
        .jwks_url("https://issuer.example/jwks")
        .build()
        .unwrap();
}

/// The v1 + v2 multi-tenant partner configuration of docs/ENTRA.md parses,
/// builds, and trusts its three issuers.
#[test]
fn the_entra_partner_configuration_parses() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ENTRA.md")).unwrap();
    let start = doc.find("```toml\n").expect("a TOML block") + 8;
    let toml = &doc[start..];
    let toml = &toml[..toml.find("```").expect("closed block")];
    let layer = Builder::from_toml_str(toml)
        .and_then(Builder::build)
        .unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(
        layer.issuers().collect::<Vec<_>>(),
        ["entra-v1", "entra-v2", "legacy-idp"]
    );
}

/// `[[issuers]]` tables: every key, and the faults they can carry.
#[test]
fn issuer_tables() {
    let two = r#"
        [[issuers]]
        name = "a"
        issuer = "https://a.example/"
        audiences = ["api://x"]
        static_jwks = '{"keys":[]}'

        [[issuers]]
        name = "b"
        issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
        audiences = ["api://x"]
        jwks_url = "https://keys.example/"
        tenants = { deny = ["72f988bf-86f1-41af-91ab-2d7cd011db47"] }
        strict_rfc9068 = false
        leeway_seconds = 5
        refresh_cooldown_seconds = 10
        refresh_interval_seconds = 600
    "#;
    let layer = Builder::from_toml_str(two).unwrap().build().unwrap();
    assert_eq!(layer.issuers().collect::<Vec<_>>(), ["a", "b"]);

    // The shorthand and [[issuers]] do not mix.
    let mixed = format!("issuer = \"https://c.example/\"\n{two}");
    let err = Builder::from_toml_str(&mixed).unwrap().build().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Conflict {
                first: "issuer",
                second: "issuers",
                ..
            }
        ),
        "{err}"
    );
    let mixed = format!("jwks_url = \"https://keys.example/\"\n{two}");
    let err = Builder::from_toml_str(&mixed).unwrap().build().unwrap_err();
    assert!(
        matches!(err, ConfigError::Conflict { first: "keys", .. }),
        "{err}"
    );

    // Two key sources in one table.
    let err = Builder::from_toml_str(
        r#"
        [[issuers]]
        name = "a"
        issuer = "https://a.example/"
        audiences = ["api://x"]
        jwks_url = "https://keys.example/"
        discovery_url = "https://a.example/.well-known/openid-configuration"
        "#,
    )
    .err()
    .expect("refused");
    assert!(
        matches!(
            err,
            ConfigError::Conflict {
                first: "jwks_url",
                second: "discovery_url",
                ..
            }
        ),
        "{err}"
    );

    // Overlapping issuers, named.
    let overlap = two.replace(
        "https://a.example/",
        "https://login.microsoftonline.com/df845f1a-7b35-40a2-ba78-6481de91f8ae/v2.0",
    );
    let err = Builder::from_toml_str(&overlap)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::OverlappingIssuers { first, second, .. } if first == "a" && second == "b"),
        "{err}"
    );

    // An unknown key in a table.
    let err = Builder::from_toml_str(
        "[[issuers]]\nname = \"a\"\nissuer = \"https://a.example/\"\naudience = \"x\"\n",
    )
    .err()
    .expect("refused");
    assert!(err.to_string().contains("audience"), "{err}");
}
