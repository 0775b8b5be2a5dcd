//! A Cognito user pool on moto as a real OIDC issuer: pools, app clients and users
//! made through Cognito's own API (JSON over HTTP, as the SDKs speak it), ID tokens
//! from `AdminInitiateAuth`, and the pool's JWKS served by moto.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Client;
use serde_json::{Value, json};

/// The moto the runner started for Cognito: `SKIFF_TEST_COGNITO_ENDPOINT`.
fn endpoint() -> String {
    std::env::var("SKIFF_TEST_COGNITO_ENDPOINT")
        .expect("SKIFF_TEST_COGNITO_ENDPOINT (tests/run starts moto for Cognito)")
}

/// moto's pool signing key, which `tests/run` writes as PEM
/// (`SKIFF_TEST_COGNITO_KEY_PEM`), for tokens only the issuer could sign.
fn signing_key() -> &'static EncodingKey {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = std::env::var("SKIFF_TEST_COGNITO_KEY_PEM")
            .expect("SKIFF_TEST_COGNITO_KEY_PEM (tests/run writes moto's Cognito key)");
        let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        EncodingKey::from_rsa_pem(&pem).expect("moto's Cognito key")
    })
}

/// The password every pool user gets (it meets Cognito's default policy).
pub const COGNITO_PASSWORD: &str = "Correct-horse-7-battery";

async fn call(action: &str, body: Value) -> Value {
    let response = Client::new()
        .post(endpoint())
        .header(
            "X-Amz-Target",
            format!("AWSCognitoIdentityProviderService.{action}"),
        )
        .header("Content-Type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{action}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A user pool with one app client.
pub struct CognitoPool {
    pub pool_id: String,
    pub client_id: String,
}

/// A pool user's tokens from one sign-in.
pub struct CognitoTokens {
    pub id_token: String,
    pub access_token: String,
}

impl CognitoPool {
    /// A new pool and app client on moto.
    pub async fn create() -> Self {
        let name = format!("skiff-{}", uuid::Uuid::new_v4().simple());
        let pool = call("CreateUserPool", json!({"PoolName": name})).await;
        let pool_id = pool["UserPool"]["Id"].as_str().expect("pool id").to_owned();
        let client_id = Self::add_client(&pool_id).await;
        Self { pool_id, client_id }
    }

    /// Another app client of `pool_id`: its tokens carry another audience.
    pub async fn add_client(pool_id: &str) -> String {
        let client = call(
            "CreateUserPoolClient",
            json!({
                "UserPoolId": pool_id, "ClientName": "skiff",
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
                "ReadAttributes": ["email", "email_verified"],
            }),
        )
        .await;
        client["UserPoolClient"]["ClientId"]
            .as_str()
            .expect("client id")
            .to_owned()
    }

    /// The `iss` of the pool's tokens (the real AWS host, as moto writes it).
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            self.pool_id
        )
    }

    /// Where moto serves the pool's keys: the issuer names the AWS host, so the
    /// setting points `jwks_uri` here.
    pub fn jwks_uri(&self) -> String {
        format!("{}/{}/.well-known/jwks.json", endpoint(), self.pool_id)
    }

    /// `SKIFF_FEDERATED_ISSUERS` trusting this pool's client.
    pub fn issuers_setting(&self) -> String {
        json!([{
            "issuer": self.issuer(),
            "audiences": [self.client_id],
            "jwks_uri": self.jwks_uri(),
        }])
        .to_string()
    }

    /// A confirmed user with a verified `email`.
    pub async fn add_user(&self, username: &str, email: &str) {
        call(
            "AdminCreateUser",
            json!({
                "UserPoolId": self.pool_id, "Username": username, "MessageAction": "SUPPRESS",
                "UserAttributes": [
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                ],
            }),
        )
        .await;
        call(
            "AdminSetUserPassword",
            json!({
                "UserPoolId": self.pool_id, "Username": username,
                "Password": COGNITO_PASSWORD, "Permanent": true,
            }),
        )
        .await;
    }

    /// Signs `username` in through `client_id` and returns its tokens.
    pub async fn sign_in_with(&self, client_id: &str, username: &str) -> CognitoTokens {
        let result = call(
            "AdminInitiateAuth",
            json!({
                "UserPoolId": self.pool_id, "ClientId": client_id,
                "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": username, "PASSWORD": COGNITO_PASSWORD},
            }),
        )
        .await;
        let tokens = &result["AuthenticationResult"];
        CognitoTokens {
            id_token: tokens["IdToken"].as_str().expect("IdToken").to_owned(),
            access_token: tokens["AccessToken"]
                .as_str()
                .expect("AccessToken")
                .to_owned(),
        }
    }

    /// Signs `username` in through the pool's own client.
    pub async fn sign_in(&self, username: &str) -> CognitoTokens {
        self.sign_in_with(&self.client_id, username).await
    }
}

/// The claims of a JWT, read without checking it.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// `claims` signed as moto's pools sign (RS256, `kid` "dummy", moto's key).
pub fn sign_as_cognito(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("dummy".into());
    jsonwebtoken::encode(&header, claims, signing_key()).expect("sign")
}
