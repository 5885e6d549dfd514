//! The layer in front of a real tonic server, called by a real tonic client
//! over HTTP/2 on 127.0.0.1: refusals are trailers-only gRPC answers with
//! status details, passes reach the method with the claims attached.
use crate::mint;
#[path = "../../examples/support/partner_v1.rs"]
mod partner_v1;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{HeaderMap, Method, Uri};
use http_body_util::BodyExt;
use partner_v1::{
    Caller, Customer, CustomerEvent, Customers, CustomersClient, CustomersServer, EventStream,
    LIST_CUSTOMERS, ListCustomersRequest, ListCustomersResponse, WATCH_CUSTOMERS,
    WatchCustomersRequest,
};
use tokio_stream::StreamExt;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;
use tower_mfa::{Claims, Decision, RequireMfaLayer, Rule};

const WHOLE_SERVICE: &str = "/partner.v1.Customers/*";

/// The method's view of the caller, read through the tonic accessor (or,
/// without the `tonic` feature, straight from the extensions).
#[cfg(feature = "tonic")]
fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    use tower_mfa::tonic::RequestClaimsExt;
    let claims = request.require_claims()?;
    Ok(describe(claims, request.decision()))
}

#[cfg(not(feature = "tonic"))]
fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    let claims = request
        .extensions()
        .get::<Decision>()
        .map(Decision::claims)
        .ok_or_else(|| Status::unauthenticated("no claims"))?;
    Ok(describe(claims, request.extensions().get::<Decision>()))
}

fn describe(claims: &Claims, decision: Option<&Decision>) -> Caller {
    Caller {
        subject: claims.subject().unwrap_or_default().to_owned(),
        kind: decision.map_or("", |d| d.caller().as_str()).to_owned(),
        mfa: decision
            .and_then(Decision::mfa)
            .map_or("", |p| p.as_str())
            .to_owned(),
        rule: decision.map_or("", Decision::rule).to_owned(),
    }
}

#[derive(Default)]
struct TestCustomers {
    /// How many `WatchCustomers` streams the method started.
    streams: Arc<AtomicUsize>,
}

fn customers() -> Vec<Customer> {
    vec![
        Customer {
            id: "contoso".into(),
            name: "Contoso".into(),
            domain: "contoso.example".into(),
        },
        Customer {
            id: "fabrikam".into(),
            name: "Fabrikam".into(),
            domain: "fabrikam.example".into(),
        },
    ]
}

impl Customers for TestCustomers {
    type WatchCustomersStream = EventStream;

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(ListCustomersResponse {
            customers: customers(),
            caller: Some(caller),
        }))
    }

    async fn watch_customers(
        &self,
        request: Request<WatchCustomersRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let caller = caller(&request)?;
        self.streams.fetch_add(1, Ordering::SeqCst);
        let n = usize::try_from(request.get_ref().max_events).unwrap_or(0);
        let events = customers()
            .into_iter()
            .cycle()
            .take(n)
            .map(move |customer| {
                Ok(CustomerEvent {
                    kind: "updated".into(),
                    customer: Some(customer),
                    caller: Some(caller.clone()),
                })
            });
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }
}

struct Running {
    addr: SocketAddr,
    streams: Arc<AtomicUsize>,
}

impl Running {
    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn client(&self) -> CustomersClient {
        CustomersClient::connect(self.uri()).await.unwrap()
    }
}

/// Serves `partner.v1.Customers` and `grpc.health.v1.Health` behind `layer`,
/// exactly as an application would: `Server::builder().layer(...)`.
async fn serve(layer: RequireMfaLayer) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let service = TestCustomers::default();
    let streams = Arc::clone(&service.streams);
    let server = Server::builder()
        .layer(layer)
        .add_service(health)
        .add_service(CustomersServer::new(service))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(async move { server.await.unwrap() });
    Running { addr, streams }
}

fn builder(jwks: &mint::JwksServer) -> tower_mfa::Builder {
    RequireMfaLayer::builder()
        .issuer(mint::ISSUER)
        .audience(mint::AUDIENCE)
        .jwks_url(jwks.jwks_url())
        .allow_http_loopback(true)
        .rule(Rule::public("/grpc.health.v1.Health/*"))
}

/// The usual server: the whole `Customers` service needs MFA.
async fn partner_server() -> (Running, mint::JwksServer) {
    server_with(|b| b.rule(Rule::mfa(WHOLE_SERVICE))).await
}

/// A server behind the layer `configure` makes of [`builder`], trusting the
/// usual RSA key (keep the JWKS server alive while the server is used).
async fn server_with(
    configure: impl FnOnce(tower_mfa::Builder) -> tower_mfa::Builder,
) -> (Running, mint::JwksServer) {
    let jwks = mint::JwksServer::start(mint::jwks(&[mint::rsa_key()])).await;
    let layer = configure(builder(&jwks)).build().unwrap();
    (serve(layer).await, jwks)
}

fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

fn mfa_token() -> String {
    mint::rsa_key().token(&mint::user_claims(&["pwd", "mfa"]))
}

fn password_token() -> String {
    mint::rsa_key().token(&mint::user_claims(&["pwd"]))
}

fn app_token() -> String {
    mint::rsa_key().token(&mint::app_claims())
}

async fn list(server: &Running, token: Option<&str>) -> Result<ListCustomersResponse, Status> {
    let mut client = server.client().await;
    client
        .list_customers(with_token(ListCustomersRequest { page_size: 0 }, token))
        .await
        .map(Response::into_inner)
}

fn www_authenticate(status: &Status) -> &str {
    status
        .metadata()
        .get("www-authenticate")
        .expect("www-authenticate metadata")
        .to_str()
        .unwrap()
}

/// The `google.rpc.ErrorInfo` in `grpc-status-details-bin`, decoded by tonic-types.
fn error_info(status: &Status) -> (String, String) {
    let details = status
        .check_error_details()
        .expect("grpc-status-details-bin decodes as google.rpc.Status");
    let info = details.error_info().expect("an ErrorInfo detail");
    (info.reason.clone(), info.domain.clone())
}

fn assert_refused(status: &Status, code: Code, message: &str, reason: &str, challenge: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(status.message(), message);
    assert_eq!(www_authenticate(status), challenge);
    assert_eq!(
        error_info(status),
        (reason.to_owned(), tower_mfa::GRPC_ERROR_DOMAIN.to_owned())
    );
}

#[tokio::test]
async fn mfa_token_passes_and_the_method_sees_the_claims() {
    let (server, jwks) = partner_server().await;
    let answer = list(&server, Some(&mfa_token())).await.unwrap();
    assert_eq!(answer.customers, customers());
    let caller = answer.caller.unwrap();
    assert_eq!(caller.subject, mint::user_claims(&[])["sub"]);
    assert_eq!(caller.kind, "user");
    assert_eq!(caller.mfa, "amr");
    assert_eq!(caller.rule, WHOLE_SERVICE);
    // Once fetched, the keys are cached.
    list(&server, Some(&mfa_token())).await.unwrap();
    assert_eq!(jwks.jwks_hits(), 1);
}

#[tokio::test]
async fn password_only_token_is_unauthenticated_with_mfa_required() {
    let (server, _jwks) = partner_server().await;
    let status = list(&server, Some(&password_token())).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "multi-factor authentication is required",
        "MFA_REQUIRED",
        "Bearer error=\"invalid_token\"",
    );
    assert_eq!(
        tower_mfa::grpc_error_reason(tower_mfa::ErrorKind::MfaRequired),
        "MFA_REQUIRED"
    );
}

#[tokio::test]
async fn app_only_token_passes() {
    let (server, _jwks) = partner_server().await;
    let caller = list(&server, Some(&app_token()))
        .await
        .unwrap()
        .caller
        .unwrap();
    assert_eq!(caller.kind, "app");
    assert_eq!(caller.mfa, "");
    assert_eq!(caller.subject, mint::app_claims()["sub"]);
}

#[tokio::test]
async fn no_token_is_unauthenticated() {
    let (server, _jwks) = partner_server().await;
    let status = list(&server, None).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "a bearer token is required",
        "MISSING_TOKEN",
        "Bearer",
    );
}

#[tokio::test]
async fn invalid_tokens_are_unauthenticated() {
    let (server, _jwks) = partner_server().await;
    let mut wrong_audience = mint::user_claims(&["pwd", "mfa"]);
    wrong_audience["aud"] = "api://someone-else".into();
    let mut expired = mint::user_claims(&["pwd", "mfa"]);
    expired["exp"] = (mint::now() - 3600).into();
    for token in [
        "not-a-jwt".to_owned(),
        mint::rsa_key().token(&wrong_audience),
        mint::rsa_key().token(&expired),
        // Signed by a key the issuer does not publish.
        mint::rsa_key2().token(&mint::user_claims(&["pwd", "mfa"])),
    ] {
        let status = list(&server, Some(&token)).await.unwrap_err();
        assert_refused(
            &status,
            Code::Unauthenticated,
            "the access token is invalid",
            "INVALID_TOKEN",
            "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\"",
        );
    }
}

#[tokio::test]
async fn health_check_needs_nothing() {
    let (server, jwks) = partner_server().await;
    let channel = tonic::transport::Channel::from_shared(server.uri())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for token in [None, Some("not-a-jwt")] {
        let answer = health
            .check(with_token(
                HealthCheckRequest {
                    service: String::new(),
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving);
    }
    assert_eq!(jwks.jwks_hits(), 0, "a public method reads no token");
}

#[tokio::test]
async fn server_streaming_is_refused_before_the_stream_starts() {
    let (server, _jwks) = partner_server().await;
    let mut client = server.client().await;

    let status = client
        .watch_customers(with_token(
            WatchCustomersRequest { max_events: 3 },
            Some(&password_token()),
        ))
        .await
        .unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "multi-factor authentication is required",
        "MFA_REQUIRED",
        "Bearer error=\"invalid_token\"",
    );
    let status = client
        .watch_customers(with_token(WatchCustomersRequest { max_events: 3 }, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(server.streams.load(Ordering::SeqCst), 0);

    let mut stream = client
        .watch_customers(with_token(
            WatchCustomersRequest { max_events: 3 },
            Some(&mfa_token()),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .all(|e| e.caller.as_ref().unwrap().mfa == "amr")
    );
    assert_eq!(server.streams.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn missing_scope_is_permission_denied() {
    let (server, _jwks) =
        server_with(|b| b.rule(Rule::mfa(WHOLE_SERVICE).require_scope("Customers.ReadWrite")))
            .await;
    let status = list(&server, Some(&mfa_token())).await.unwrap_err();
    assert_refused(
        &status,
        Code::PermissionDenied,
        "the token lacks a required scope or role",
        "INSUFFICIENT_SCOPE",
        "Bearer error=\"insufficient_scope\", scope=\"Customers.ReadWrite\"",
    );

    let mut claims = mint::user_claims(&["pwd", "mfa"]);
    claims["scp"] = "user_impersonation Customers.ReadWrite".into();
    let answer = list(&server, Some(&mint::rsa_key().token(&claims))).await;
    assert!(answer.is_ok(), "{answer:?}");
}

#[tokio::test]
async fn app_only_denied_is_permission_denied() {
    let (server, _jwks) = server_with(|b| {
        b.rule(Rule::mfa(WHOLE_SERVICE))
            .app_only(tower_mfa::AppOnly::Deny)
    })
    .await;
    let status = list(&server, Some(&app_token())).await.unwrap_err();
    assert_refused(
        &status,
        Code::PermissionDenied,
        "app-only tokens are not accepted here",
        "INSUFFICIENT_SCOPE",
        "Bearer error=\"insufficient_scope\", error_description=\"App-only tokens are not accepted here\"",
    );
}

#[tokio::test]
async fn unreachable_keys_are_unavailable() {
    let jwks = mint::JwksServer::start(mint::jwks(&[])).await;
    jwks.set(mint::Answer::Raw(500, b"down".to_vec()));
    let layer = builder(&jwks)
        .rule(Rule::mfa(WHOLE_SERVICE))
        .build()
        .unwrap();
    let server = serve(layer).await;
    let status = list(&server, Some(&mfa_token())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        status.message(),
        "the identity provider's keys are unavailable"
    );
    assert!(status.metadata().get("www-authenticate").is_none());
    assert_eq!(error_info(&status).0, "KEYS_UNAVAILABLE");
    // The delay HTTP sends as `Retry-After`, as a `google.rpc.RetryInfo`.
    let details = status.check_error_details().unwrap();
    let delay = details
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("a RetryInfo with a delay");
    assert!((1..=30).contains(&delay.as_secs()), "{delay:?}");
}

#[tokio::test]
async fn missing_role_is_permission_denied_with_its_own_reason() {
    let (server, _jwks) =
        server_with(|b| b.rule(Rule::mfa(WHOLE_SERVICE).require_role("Customers.Admin"))).await;
    let status = list(&server, Some(&mfa_token())).await.unwrap_err();
    assert_refused(
        &status,
        Code::PermissionDenied,
        "the token lacks a required role",
        tower_mfa::GRPC_MISSING_ROLE_REASON,
        "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required role\"",
    );
    assert_eq!(tower_mfa::GRPC_MISSING_ROLE_REASON, "MISSING_ROLE");
    let mut claims = mint::user_claims(&["pwd", "mfa"]);
    claims["roles"] = serde_json::json!(["Customers.Admin"]);
    let answer = list(&server, Some(&mint::rsa_key().token(&claims))).await;
    assert!(answer.is_ok(), "{answer:?}");
}

#[test]
fn rules_match_grpc_paths() {
    let service = Rule::mfa(WHOLE_SERVICE);
    let method = Rule::mfa(LIST_CUSTOMERS);
    let matches = |rule: &Rule, path: &str| {
        let uri: Uri = path.parse().unwrap();
        rule.matches(&Method::POST, path, &uri, &HeaderMap::new())
    };
    assert!(matches(&service, LIST_CUSTOMERS));
    assert!(matches(&service, WATCH_CUSTOMERS));
    assert!(!matches(&service, "/partner.v1.Customers"));
    assert!(!matches(
        &service,
        "/partner.v1.CustomersAdmin/ListCustomers"
    ));
    assert!(!matches(&service, "/grpc.health.v1.Health/Check"));
    assert!(matches(&method, LIST_CUSTOMERS));
    assert!(!matches(&method, WATCH_CUSTOMERS));
    assert!(!matches(&method, "/partner.v1.Customers/ListCustomersV2"));
    // gRPC calls are POSTs: a rule limited to POST still matches.
    assert!(matches(
        &Rule::mfa(WHOLE_SERVICE).method(Method::POST),
        WATCH_CUSTOMERS
    ));
    assert!(!matches(
        &Rule::mfa(WHOLE_SERVICE).method(Method::GET),
        WATCH_CUSTOMERS
    ));
}

#[tokio::test]
async fn a_rule_can_protect_one_method() {
    let (server, _jwks) = server_with(|b| b.rule(Rule::mfa(LIST_CUSTOMERS))).await;
    let password = password_token();

    let status = list(&server, Some(&password)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(error_info(&status).0, "MFA_REQUIRED");

    // WatchCustomers falls to the default rule: a valid token is enough.
    let mut client = server.client().await;
    let mut stream = client
        .watch_customers(with_token(
            WatchCustomersRequest { max_events: 1 },
            Some(&password),
        ))
        .await
        .unwrap()
        .into_inner();
    let event = stream.next().await.unwrap().unwrap();
    let caller = event.caller.unwrap();
    assert_eq!(caller.rule, "default");
    assert_eq!(caller.mfa, "");
    assert!(stream.next().await.is_none());

    let status = client
        .watch_customers(with_token(WatchCustomersRequest { max_events: 1 }, None))
        .await
        .unwrap_err();
    assert_eq!(error_info(&status).0, "MISSING_TOKEN");
}

/// The wire format, read with a plain HTTP/2 client: one HEADERS frame that
/// ends the stream, `:status 200`, `content-type: application/grpc`,
/// `grpc-status`, `grpc-message`, `grpc-status-details-bin`, no DATA, no trailers.
#[tokio::test]
async fn refusals_are_trailers_only() {
    let (server, _jwks) = partner_server().await;
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);

    for content_type in ["application/grpc", "application/grpc+proto"] {
        let request = http::Request::post(format!("{}{LIST_CUSTOMERS}", server.uri()))
            .header("content-type", content_type)
            .header("te", "trailers")
            .header("authorization", format!("Bearer {}", password_token()))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(&[
                0, 0, 0, 0, 0,
            ])))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        assert_eq!(response.version(), http::Version::HTTP_2);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/grpc");
        assert_eq!(headers["grpc-status"], "16");
        assert_eq!(
            headers["grpc-message"],
            "multi-factor authentication is required"
        );
        assert!(headers.contains_key("grpc-status-details-bin"));
        assert_eq!(
            headers["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        assert!(
            http_body::Body::is_end_stream(response.body()),
            "END_STREAM on the HEADERS frame"
        );
        let collected = response.into_body().collect().await.unwrap();
        assert!(collected.trailers().is_none());
        assert!(collected.to_bytes().is_empty());
    }
}
