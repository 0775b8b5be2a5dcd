//! Access tokens: verifiable from the JWKS alone by a standard JWT library, and
//! every forgery in the contract's list is refused.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use skiff_contract_tests::{
    Account, TestHost, TestKey, assert_unauthorized, b64url, claims_for, shared_key, sign_typed,
    sign_with,
};

async fn jwks(host: &TestHost) -> JwkSet {
    serde_json::from_value(host.get_json("/.well-known/jwks.json").await).expect("a JWK set")
}

async fn published_kid(host: &TestHost) -> String {
    jwks(host).await.keys[0].common.key_id.clone().expect("kid")
}

#[tokio::test]
async fn discovery_documents_point_at_the_keys() {
    let host = TestHost::start();
    let response = host
        .request(Method::GET, "/.well-known/openid-configuration")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let config: Value = response.json().await.unwrap();
    assert_eq!(config["issuer"], host.issuer.as_str());
    assert_eq!(
        config["jwks_uri"],
        format!("{}/.well-known/jwks.json", host.issuer)
    );
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    let raw = host.get_json("/.well-known/jwks.json").await;
    let key = &raw["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["use"].as_str(),
            key["alg"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"))
    );
    assert!(key["kid"].is_string() && key["n"].is_string());
    assert_eq!(key["e"], "AQAB");
    assert!(
        key.get("d").is_none(),
        "private parts must never be published"
    );
}

#[tokio::test]
async fn a_standard_jwt_library_verifies_tokens_from_the_jwks_alone() {
    let host = TestHost::start();
    let account = host.account().await;
    let set = jwks(&host).await;

    let header = jsonwebtoken::decode_header(&account.access_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(
        header.typ.as_deref(),
        Some("at+jwt"),
        "RFC 9068 access token type"
    );
    let kid = header.kid.expect("tokens carry a kid");
    let jwk = set.find(&kid).expect("the token's kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&host.issuer]);
    validation.set_audience(&[&host.audience]);
    let claims = jsonwebtoken::decode::<Value>(
        &account.access_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("verifies with the published key")
    .claims;
    assert_eq!(claims["sub"], account.user_id.as_str());
    assert_eq!(claims["sid"], account.session_id.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));

    // The signature checked once more on aws-lc itself, outside jsonwebtoken: this
    // process may have installed the product's own RS256 provider, and a client's
    // library is not that one.
    let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        panic!("the published key is not RSA");
    };
    let decode = |part: &str| {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).unwrap()
    };
    let (signed, signature) = account.access_token.rsplit_once('.').unwrap();
    aws_lc_rs::signature::RsaPublicKeyComponents {
        n: decode(&rsa.n),
        e: decode(&rsa.e),
    }
    .verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &decode(signature),
    )
    .expect("aws-lc verifies the token's RS256 signature");
}

#[tokio::test]
async fn access_token_lifetime_is_configurable() {
    let host = TestHost::start_with(&[("SKIFF_ACCESS_TOKEN_TTL", "2m")]);
    let account = host.account().await;
    let tokens = host.login_ok(&account.email).await;
    assert_eq!(tokens["expires_in"], 120);
}

/// A token that differs from a valid one in exactly one way is refused; the same
/// recipe without the defect is accepted, so each refusal is for that defect.
#[tokio::test]
async fn forged_and_defective_tokens_are_refused() {
    let host = TestHost::start();
    let account = host.account().await;
    let kid = published_kid(&host).await;
    let claims = claims_for(
        &host.issuer,
        &host.audience,
        &account.user_id,
        &account.session_id,
    );

    let control = sign_with(host.key, &kid, &claims);
    assert_eq!(
        host.get_auth("/session", &control).await.status(),
        200,
        "positive control"
    );

    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        sign_with(host.key, &kid, &c)
    };
    let now = claims["iat"].as_i64().unwrap();
    let header_b64 = |header: Value| b64url(header.to_string().as_bytes());
    let payload_b64 = b64url(claims.to_string().as_bytes());

    let alg_none = format!(
        "{}.{}.",
        header_b64(json!({"alg": "none", "typ": "JWT", "kid": kid})),
        payload_b64
    );
    let hs256_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(host.key.public_pem.as_bytes()),
        )
        .unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = control.split('.').map(String::from).collect();
        let mut forged = claims.clone();
        forged["sub"] = json!(uuid::Uuid::new_v4().to_string());
        parts[1] = b64url(forged.to_string().as_bytes());
        parts.join(".")
    };
    let stranger = TestKey::generate();
    let unknown_kid = sign_with(&stranger, "some-other-key", &claims);
    let wrong_key_known_kid = sign_with(&stranger, &kid, &claims);
    let mut no_kid_header = Header::new(Algorithm::RS256);
    no_kid_header.kid = None;
    let no_kid = jsonwebtoken::encode(
        &no_kid_header,
        &claims,
        &EncodingKey::from_rsa_pem(host.key.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();

    let defects: Vec<(&str, String)> = vec![
        ("alg none", alg_none),
        (
            "HS256 signed with the RSA public key",
            hs256_with_public_key,
        ),
        ("tampered payload", tampered),
        ("unknown kid", unknown_kid),
        ("known kid, foreign key", wrong_key_known_kid),
        ("no kid", no_kid),
        ("expired", with("exp", json!(now - 3600))),
        ("wrong issuer", with("iss", json!("https://evil.example"))),
        ("wrong audience", with("aud", json!("someone-else"))),
        ("future nbf", with("nbf", json!(now + 3600))),
        (
            "unknown session",
            with("sid", json!(uuid::Uuid::new_v4().to_string())),
        ),
        (
            "session of another user",
            with("sub", json!(uuid::Uuid::new_v4().to_string())),
        ),
        // Signed by the host's own key with the right claims, but not typed as an
        // access token: an ID token (or any other JWT) must never pass for one.
        ("typ JWT", sign_typed(host.key, &kid, Some("JWT"), &claims)),
        ("no typ", sign_typed(host.key, &kid, None, &claims)),
        ("not a JWT", "garbage".into()),
        ("truncated", control[..control.len() - 10].to_owned()),
    ];
    for (defect, token) in defects {
        let response = host.get_auth("/session", &token).await;
        assert_eq!(response.status(), 401, "{defect}");
        assert_unauthorized(response).await;
    }
}

#[tokio::test]
async fn authorization_header_must_be_a_bearer_token() {
    let host = TestHost::start();
    let Account { access_token, .. } = host.account().await;
    let bad_headers = [
        format!("Basic {access_token}"),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        access_token.clone(),
    ];
    for value in bad_headers {
        let response = host
            .request(Method::GET, "/session")
            .header("authorization", value.clone())
            .send()
            .await
            .unwrap();
        assert_unauthorized(response).await;
    }
    assert_unauthorized(host.request(Method::GET, "/session").send().await.unwrap()).await;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let response = host
        .request(Method::GET, "/session")
        .header("authorization", format!("bearer {access_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Rotation: with keys `old,new` configured, both are published, the newest signs,
/// and tokens signed by the old key stay valid until they expire.
#[tokio::test]
async fn several_keys_are_published_and_the_newest_signs() {
    let old_key = TestKey::generate();
    let host = TestHost::start_with_keys(&[&old_key, shared_key()], &[]);

    let set = jwks(&host).await;
    assert_eq!(set.keys.len(), 2);
    let account = host.account().await;
    let kid = jsonwebtoken::decode_header(&account.access_token)
        .unwrap()
        .kid
        .unwrap();
    let new_kid = {
        let single = TestHost::start();
        published_kid(&single).await
    };
    assert_eq!(kid, new_kid, "the newest key signs");

    let old_kid = set
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .find(|k| *k != new_kid)
        .unwrap();
    let claims = claims_for(
        &host.issuer,
        &host.audience,
        &account.user_id,
        &account.session_id,
    );
    let signed_by_old = sign_with(&old_key, &old_kid, &claims);
    assert_eq!(
        host.get_auth("/session", &signed_by_old).await.status(),
        200
    );
}
