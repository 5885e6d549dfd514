//! The peer measured by scripts/load.sh: the same axum route as
//! examples/load_target.rs, guarded by jwt-authorizer 0.15 (RS256 from a PEM
//! key, issuer and audience checked) with an MFA check on `amr` written as
//! its claims checker, so both servers do the same work per request.

use axum::{routing::get, Json, Router};
use jwt_authorizer::{IntoLayer, JwtAuthorizer, Validation};
use serde::Deserialize;
use serde_json::json;

const ISSUER: &str = "https://sts.windows.net/df845f1a-7b35-40a2-ba78-6481de91f8ae/";
const AUDIENCE: &str = "https://api.partnercenter.microsoft.com";

#[derive(Clone, Deserialize)]
struct Claims {
    #[serde(default)]
    amr: Vec<String>,
}

async fn customers() -> Json<serde_json::Value> {
    Json(json!({"customers": [{"id": "contoso"}, {"id": "fabrikam"}]}))
}

fn main() {
    let dir = std::env::var("LOAD_DIR").unwrap_or_else(|_| "target/load".into());
    let addr = std::env::var("LOAD_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pem = format!("{dir}/public.pem");
        let auth: jwt_authorizer::Authorizer<Claims> = JwtAuthorizer::from_rsa_pem(&pem)
            .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
            .check(|c: &Claims| c.amr.iter().any(|m| m == "mfa"))
            .build()
            .await
            .unwrap();
        let app = Router::new()
            .route("/v1/customers", get(customers))
            .layer(auth.into_layer());
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!(
            "jwt-authorizer listening on {}",
            listener.local_addr().unwrap()
        );
        axum::serve(listener, app).await.unwrap();
    });
}
