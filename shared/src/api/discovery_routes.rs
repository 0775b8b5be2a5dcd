use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use std::sync::Arc;

use crate::auth::{Jwks, PublicKeys};

/// What the discovery endpoints publish; computed once at start-up.
pub struct Discovery {
    openid_configuration: Value,
    jwks: Jwks,
}

impl Discovery {
    /// The discovery document and JWKS of `issuer`, rendered once.
    pub fn new(issuer: &str, keys: &PublicKeys) -> Self {
        let issuer = issuer.trim_end_matches('/');
        Self {
            openid_configuration: json!({
                "issuer": issuer,
                "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint": format!("{issuer}/auth/login"),
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
                "claims_supported": ["iss", "aud", "sub", "sid", "iat", "exp", "jti"],
            }),
            jwks: keys.jwks(),
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

pub(super) async fn health() -> Json<impl Serialize> {
    Json(Health { status: "ok" })
}

pub(super) async fn openid_configuration(State(discovery): State<Arc<Discovery>>) -> Response {
    cacheable(Json(&discovery.openid_configuration).into_response())
}

pub(super) async fn jwks(State(discovery): State<Arc<Discovery>>) -> Response {
    cacheable(Json(&discovery.jwks).into_response())
}

/// Verifiers may cache keys briefly; short enough that a rotation is picked up soon.
fn cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
