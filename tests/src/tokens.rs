use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// An RSA key pair the tests control: given to the host as its signing key, or
/// kept away from it to forge tokens under an unknown key.
pub struct TestKey {
    pub private_pem: String,
    pub public_pem: String,
}

impl TestKey {
    pub fn generate() -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("generate RSA key");
        let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).expect("pkcs8");
        let public: PublicKeyX509Der = pair.public_key().as_der().expect("spki");
        Self {
            private_pem: pem_of("PRIVATE KEY", private.as_ref()),
            public_pem: pem_of("PUBLIC KEY", public.as_ref()),
        }
    }
}

fn pem_of(label: &str, der: &[u8]) -> String {
    use base64::engine::general_purpose::STANDARD;
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Claims shaped exactly like the host's own, valid for the next 15 minutes.
pub fn claims_for(issuer: &str, audience: &str, user_id: &str, session_id: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    json!({
        "iss": issuer, "aud": audience, "sub": user_id, "sid": session_id,
        "iat": now, "exp": now + 900, "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// Signs `claims` RS256 with `key` under `kid`, typed as an access token.
pub fn sign_with(key: &TestKey, kid: &str, claims: &Value) -> String {
    sign_typed(key, kid, Some("at+jwt"), claims)
}

/// Signs `claims` RS256 with `key` under `kid` with the header `typ` given.
pub fn sign_typed(key: &TestKey, kid: &str, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).expect("encoding key"),
    )
    .expect("sign")
}
