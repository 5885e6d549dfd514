//! A Partner-Center-like gRPC service guarded by `RequireMfaLayer` on tonic.
//!
//! ```sh
//! cargo run --example tonic_partner            # serve, print tokens and grpcurl lines
//! cargo run --example tonic_partner -- --check # serve, call every case once, exit
//! ```
//!
//! Services (hand-written with prost derive, no protoc; the schema is
//! `examples/support/partner.proto`):
//! - `partner.v1.Customers/ListCustomers` (unary) and
//!   `partner.v1.Customers/WatchCustomers` (server streaming): MFA for
//!   app+user tokens, app-only tokens pass (`Rule::mfa("/partner.v1.Customers/*")`).
//! - `grpc.health.v1.Health/*`: public.
//!
//! With no configuration it runs an embedded development issuer: an ES256
//! key pair generated at start-up, whose public key is handed to the layer
//! with `Builder::static_jwks`, and which mints sample tokens. To trust a
//! real issuer instead, set `TOWER_MFA_ISSUER`, `TOWER_MFA_AUDIENCE` and
//! `TOWER_MFA_JWKS_URL` (or `TOWER_MFA_DISCOVERY_URL`). `TOWER_MFA_GRPC_ADDR`
//! sets the listen address (default 127.0.0.1:50051).

#[path = "support/env_issuer.rs"]
mod env_issuer;
#[path = "support/partner_v1.rs"]
mod partner_v1;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partner_v1::{
    Caller, Customer, CustomerEvent, Customers, CustomersClient, CustomersServer, EventStream,
    ListCustomersRequest, ListCustomersResponse, WatchCustomersRequest,
};
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tower_mfa::{Decision, RequireMfaLayer, Rule};

const DEV_ISSUER: &str = "https://dev-issuer.tower-mfa.invalid/";
const DEV_AUDIENCE: &str = "api://tower-mfa-grpc-demo";
const DEV_TENANT: &str = "df845f1a-7b35-40a2-ba78-6481de91f8ae";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tower_mfa=info".into()),
        )
        .init();
    let check = std::env::args().any(|a| a == "--check");

    let addr: SocketAddr = std::env::var("TOWER_MFA_GRPC_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:50051".to_owned())
        .parse()?;
    let addr = if check {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        addr
    };

    let (builder, dev) = match env_issuer::from_env()? {
        Some(builder) => (builder, None),
        None => {
            let dev = DevIssuer::new()?;
            let builder = RequireMfaLayer::builder()
                .issuer(DEV_ISSUER)
                .audience(DEV_AUDIENCE)
                .static_jwks(dev.jwks.to_string().as_bytes())?;
            (builder, Some(dev))
        }
    };
    if check && dev.is_none() {
        return Err("--check needs the embedded development issuer".into());
    }

    let mfa = builder
        .rule(Rule::public("/grpc.health.v1.Health/*"))
        .rule(Rule::mfa("/partner.v1.Customers/*"))
        .build()?;

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<CustomersServer<PartnerCustomers>>()
        .await;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let server = Server::builder()
        .layer(mfa)
        .add_service(health)
        .add_service(CustomersServer::new(PartnerCustomers))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            let _ = tokio::signal::ctrl_c().await;
        });

    println!("tower-mfa gRPC Partner demo listening on {addr} (plaintext HTTP/2)");
    let tokens = dev.as_ref().map(DevIssuer::sample_tokens).transpose()?;
    if check {
        let server = tokio::spawn(server);
        let result = self_check(addr, &tokens.ok_or("no tokens")?).await;
        server.abort();
        return result;
    }
    if let Some(tokens) = &tokens {
        print_instructions(addr, tokens);
    }
    server.await?;
    Ok(())
}

/// The `Customers` implementation: a fixed list, and a stream of updates.
struct PartnerCustomers;

fn customers() -> Vec<Customer> {
    [
        ("contoso", "Contoso", "contoso.example"),
        ("fabrikam", "Fabrikam", "fabrikam.example"),
        ("northwind", "Northwind Traders", "northwind.example"),
    ]
    .into_iter()
    .map(|(id, name, domain)| Customer {
        id: id.into(),
        name: name.into(),
        domain: domain.into(),
    })
    .collect()
}

/// Who called: the layer put the verified claims and its decision in the
/// request's extensions. (With the crate's `tonic` feature,
/// `tower_mfa::tonic::RequestClaimsExt` reads them: `request.claims()`,
/// `request.decision()`, `request.require_claims()?`.)
fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    let decision = request.extensions().get::<Decision>();
    let claims = decision
        .map(Decision::claims)
        .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
    Ok(Caller {
        subject: claims.subject().unwrap_or_default().to_owned(),
        kind: decision.map_or("", |d| d.caller().as_str()).to_owned(),
        mfa: decision
            .and_then(Decision::mfa)
            .map_or("", |p| p.as_str())
            .to_owned(),
        rule: decision.map_or("", Decision::rule).to_owned(),
    })
}

impl Customers for PartnerCustomers {
    type WatchCustomersStream = EventStream;

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        let caller = caller(&request)?;
        let mut customers = customers();
        if let Ok(n @ 1..) = usize::try_from(request.get_ref().page_size) {
            customers.truncate(n);
        }
        Ok(Response::new(ListCustomersResponse {
            customers,
            caller: Some(caller),
        }))
    }

    async fn watch_customers(
        &self,
        request: Request<WatchCustomersRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let caller = caller(&request)?;
        let max = match request.get_ref().max_events {
            n @ 1..=100 => n as usize,
            _ => 5,
        };
        let events = futures_util::stream::unfold(0, move |i| {
            let caller = caller.clone();
            async move {
                if i >= max {
                    return None;
                }
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let all = customers();
                let event = CustomerEvent {
                    kind: "updated".into(),
                    customer: Some(all[i % all.len()].clone()),
                    caller: Some(caller),
                };
                Some((Ok(event), i + 1))
            }
        });
        Ok(Response::new(Box::pin(events)))
    }
}

/// The embedded development issuer: an ES256 key pair that signs sample tokens.
struct DevIssuer {
    kid: String,
    key: EcdsaKeyPair,
    jwks: Value,
}

struct Tokens {
    mfa: String,
    pwd: String,
    app: String,
}

impl DevIssuer {
    fn new() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| "EC key generation failed")?;
        // Uncompressed point: 0x04 || x || y.
        let point = key.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        let kid = format!("dev-grpc-{}", now() % 100_000);
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        }]});
        Ok(Self { kid, key, jwks })
    }

    fn sign(&self, claims: &Value) -> Result<String, &'static str> {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| "signing failed")?;
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// An MFA user, a password-only user and an app-only token, valid 1 h.
    fn sample_tokens(&self) -> Result<Tokens, Box<dyn std::error::Error + Send + Sync>> {
        let now = now();
        let user = |amr: Value| {
            json!({
                "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600,
                "tid": DEV_TENANT, "oid": "4988e250-5aee-482a-9136-6d269cb755c0",
                "sub": "f5d9d2c8-4d54-4ab1-b0a4-6f9a6a1c0e11", "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
                "scp": "user_impersonation", "name": "Jane Doe", "upn": "jane@contoso.example",
                "acr": "1", "amr": amr, "ver": "1.0",
            })
        };
        let app = json!({
            "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "iat": now, "nbf": now, "exp": now + 3600,
            "tid": DEV_TENANT, "oid": "0a8b3c2d-1111-2222-3333-444455556666",
            "sub": "0a8b3c2d-1111-2222-3333-444455556666", "appid": "23ec45a3-5127-4185-9eff-c8887839e6ab",
            "idtyp": "app", "roles": ["Partner.Read"], "ver": "1.0",
        });
        Ok(Tokens {
            mfa: self.sign(&user(json!(["pwd", "mfa"])))?,
            pwd: self.sign(&user(json!(["pwd"])))?,
            app: self.sign(&app)?,
        })
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn print_instructions(addr: SocketAddr, tokens: &Tokens) {
    println!(
        r#"
Embedded development issuer {DEV_ISSUER} (static ES256 key), audience {DEV_AUDIENCE}.
Sample tokens, valid for one hour:

  export MFA='{mfa}'
  export NOMFA='{pwd}'
  export APP='{app}'

With grpcurl (no reflection: the schemas are in examples/support), from the crate root:

  P='-plaintext -import-path examples/support -proto partner.proto'
  grpcurl $P -H "authorization: Bearer $MFA"   {addr} partner.v1.Customers/ListCustomers   # OK, user with MFA
  grpcurl $P -H "authorization: Bearer $NOMFA" {addr} partner.v1.Customers/ListCustomers   # Unauthenticated: multi-factor authentication is required
  grpcurl $P -H "authorization: Bearer $APP"   {addr} partner.v1.Customers/ListCustomers   # OK, app-only
  grpcurl $P                                   {addr} partner.v1.Customers/ListCustomers   # Unauthenticated: a bearer token is required
  grpcurl $P -H "authorization: Bearer $MFA" -d '{{"max_events": 3}}' {addr} partner.v1.Customers/WatchCustomers   # 3 events
  grpcurl $P -H "authorization: Bearer $NOMFA" -d '{{"max_events": 3}}' {addr} partner.v1.Customers/WatchCustomers # refused before the stream starts
  grpcurl -plaintext -import-path examples/support -proto health.proto {addr} grpc.health.v1.Health/Check   # SERVING, public

Add -v to see the www-authenticate metadata and the grpc-status-details-bin
(a google.rpc.ErrorInfo with reason MFA_REQUIRED, domain tower-mfa).
Or let the example call itself: cargo run --example tonic_partner -- --check
"#,
        mfa = tokens.mfa,
        pwd = tokens.pwd,
        app = tokens.app,
    );
}

fn bearer<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn outcome<T>(result: &Result<T, Status>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(status) => {
            use tonic_types::StatusExt;
            let reason = status
                .get_details_error_info()
                .map(|info| format!(" [{}/{}]", info.domain, info.reason))
                .unwrap_or_default();
            let challenge = status
                .metadata()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(|v| format!(" www-authenticate: {v}"))
                .unwrap_or_default();
            format!(
                "{:?}: {}{reason}{challenge}",
                status.code(),
                status.message()
            )
        }
    }
}

/// Calls every case once and checks the codes.
async fn self_check(
    addr: SocketAddr,
    tokens: &Tokens,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let uri = format!("http://{addr}");
    let mut client = CustomersClient::connect(uri.clone()).await?;
    let channel = tonic::transport::Channel::from_shared(uri)?
        .connect()
        .await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let mut failures = 0;
    let mut expect = |name: &str, got: String, want: &str| {
        let ok = got.starts_with(want);
        failures += usize::from(!ok);
        println!("{} {name:<42} {got}", if ok { "ok  " } else { "FAIL" });
    };

    let check = health
        .check(bearer(
            tonic_health::pb::HealthCheckRequest::default(),
            None,
        ))
        .await;
    expect("Health/Check, no token", outcome(&check), "OK");
    for (name, token, want) in [
        ("ListCustomers, MFA", Some(&tokens.mfa), "OK"),
        (
            "ListCustomers, password only",
            Some(&tokens.pwd),
            "Unauthenticated",
        ),
        ("ListCustomers, app-only", Some(&tokens.app), "OK"),
        ("ListCustomers, no token", None, "Unauthenticated"),
    ] {
        let result = client
            .list_customers(bearer(
                ListCustomersRequest::default(),
                token.map(|t| t.as_str()),
            ))
            .await;
        expect(name, outcome(&result), want);
    }
    let invalid = client
        .list_customers(bearer(ListCustomersRequest::default(), Some("not-a-jwt")))
        .await;
    expect(
        "ListCustomers, not a JWT",
        outcome(&invalid),
        "Unauthenticated",
    );

    let refused = client
        .watch_customers(bearer(
            WatchCustomersRequest { max_events: 2 },
            Some(&tokens.pwd),
        ))
        .await;
    expect(
        "WatchCustomers, password only",
        outcome(&refused),
        "Unauthenticated",
    );
    let mut stream = client
        .watch_customers(bearer(
            WatchCustomersRequest { max_events: 2 },
            Some(&tokens.mfa),
        ))
        .await?
        .into_inner();
    let mut events = 0;
    while let Some(event) = stream.next().await {
        let event = event?;
        events += 1;
        println!(
            "       event {} {} for {}",
            event.kind,
            event.customer.map(|c| c.name).unwrap_or_default(),
            event.caller.map(|c| c.subject).unwrap_or_default()
        );
    }
    expect(
        "WatchCustomers, MFA",
        format!("{events} events"),
        "2 events",
    );

    if failures == 0 {
        println!("all cases answered as expected");
        Ok(())
    } else {
        Err(format!("{failures} case(s) answered unexpectedly").into())
    }
}
