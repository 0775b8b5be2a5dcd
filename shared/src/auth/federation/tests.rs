//! The verifier against a real HTTP issuer on loopback (an axum server serving a
//! discovery document and a JWKS), counting its fetches.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};

use super::*;
use crate::auth::{KeyRing, generate_private_key_pem};

struct Issuer {
    url: String,
    ring: KeyRing,
    fetches: Arc<AtomicUsize>,
}

async fn jwks(State((jwks, fetches)): State<(Value, Arc<AtomicUsize>)>) -> axum::Json<Value> {
    fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(jwks)
}

async fn start_issuer() -> Issuer {
    let ring = KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let discovery = json!({ "issuer": url, "jwks_uri": format!("{url}/keys") });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/keys", get(jwks))
        .with_state((
            serde_json::to_value(ring.public_keys().jwks()).unwrap(),
            fetches.clone(),
        ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Issuer { url, ring, fetches }
}

impl Issuer {
    fn federation(&self) -> Federation {
        Federation::new(
            &parse_issuers(&format!(
                r#"[{{"issuer":"{}","audiences":["client-1"]}}]"#,
                self.url
            ))
            .unwrap(),
        )
    }

    fn claims(&self) -> Value {
        let now = Timestamp::now().unix_seconds();
        json!({
            "iss": self.url, "sub": "person-1", "aud": "client-1", "token_use": "id",
            "iat": now, "exp": now + 600, "email": "Person@Example.com", "email_verified": true,
        })
    }

    fn sign_with(&self, claims: &Value, kid: &str) -> String {
        let (_, key) = self.ring.signing_key();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        let kid = self.ring.public_keys().jwks().keys[0].kid.clone();
        self.sign_with(claims, &kid)
    }
}

fn refused(result: Result<VerifiedIdToken, VerifyError>) -> IdTokenError {
    match result {
        Err(VerifyError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_token_names_its_identity_and_each_forgery_is_refused() {
    let issuer = start_issuer().await;
    let federation = issuer.federation();
    let verified = federation
        .verify(&issuer.sign(&issuer.claims()))
        .await
        .unwrap();
    assert_eq!(verified.identity.issuer(), issuer.url);
    assert_eq!(verified.identity.subject(), "person-1");
    assert_eq!(
        verified.verified_email.unwrap().as_str(),
        "person@example.com"
    );

    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = issuer.claims();
        change(&mut claims);
        issuer.sign(&claims)
    };
    let now = Timestamp::now().unix_seconds();
    let cases: Vec<(&str, String, IdTokenError)> = vec![
        (
            "wrong audience",
            with(&|c| c["aud"] = json!("client-2")),
            IdTokenError::Invalid,
        ),
        (
            "expired",
            with(&|c| c["exp"] = json!(now - 120)),
            IdTokenError::Expired,
        ),
        (
            "not yet valid",
            with(&|c| c["nbf"] = json!(now + 600)),
            IdTokenError::Invalid,
        ),
        (
            "issued in the future",
            with(&|c| c["iat"] = json!(now + 600)),
            IdTokenError::Invalid,
        ),
        (
            "an access token",
            with(&|c| c["token_use"] = json!("access")),
            IdTokenError::NotAnIdToken,
        ),
        (
            "another issuer",
            with(&|c| c["iss"] = json!("https://elsewhere.example")),
            IdTokenError::UnknownIssuer,
        ),
        (
            "no subject",
            with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
            IdTokenError::Invalid,
        ),
    ];
    for (case, token, reason) in cases {
        assert_eq!(refused(federation.verify(&token).await), reason, "{case}");
    }

    // The payload of a valid token swapped for another subject's.
    let good = issuer.sign(&issuer.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut other = issuer.claims();
    other["sub"] = json!("person-2");
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&other).unwrap(),
    );
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(
        refused(federation.verify(&tampered).await),
        IdTokenError::Invalid
    );

    // alg none, and HS256 keyed with the issuer's public key.
    let unsigned = format!(
        "{}.{}.",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"none","typ":"JWT"}"#
        ),
        parts[1]
    );
    assert_eq!(
        refused(federation.verify(&unsigned).await),
        IdTokenError::Malformed
    );
    let public = serde_json::to_vec(&issuer.ring.public_keys().jwks()).unwrap();
    let hs256 = hs256_token(&issuer.claims(), &public);
    assert_eq!(
        refused(federation.verify(&hs256).await),
        IdTokenError::WrongAlgorithm
    );
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "the keys are fetched once"
    );
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_at_most_once_per_interval() {
    let issuer = start_issuer().await;
    let interval = std::time::Duration::from_millis(300);
    let federation = Federation::with_refetch_interval(
        &parse_issuers(&format!(
            r#"[{{"issuer":"{}","audiences":["client-1"]}}]"#,
            issuer.url
        ))
        .unwrap(),
        interval,
    );
    let unknown_kids = || async {
        for attempt in 0..5 {
            let token = issuer.sign_with(&issuer.claims(), &format!("rotated-{attempt}"));
            assert_eq!(
                refused(federation.verify(&token).await),
                IdTokenError::UnknownKey
            );
        }
    };
    federation
        .verify(&issuer.sign(&issuer.claims()))
        .await
        .unwrap();
    unknown_kids().await;
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        1,
        "too soon to refetch"
    );
    tokio::time::sleep(interval * 2).await;
    unknown_kids().await;
    assert_eq!(
        issuer.fetches.load(Ordering::SeqCst),
        2,
        "one refetch, then none"
    );
    federation
        .verify(&issuer.sign(&issuer.claims()))
        .await
        .unwrap();
    assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_is_unavailable_not_a_refusal() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let federation = Federation::new(
        &parse_issuers(&format!(
            r#"[{{"issuer":"{url}","audiences":["client-1"]}}]"#
        ))
        .unwrap(),
    );
    let now = Timestamp::now().unix_seconds();
    let ring = KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap();
    let (kid, key) = ring.signing_key();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &json!({"iss": url, "sub": "s", "aud": "client-1", "iat": now, "exp": now + 60}),
        key,
    )
    .unwrap();
    assert!(matches!(
        federation.verify(&token).await,
        Err(VerifyError::Unavailable(_))
    ));
}

/// An HS256 JWT keyed with `secret`, made by hand: Skiff's RS256 provider refuses
/// to sign with anything else, which is the point, but the forgery has to exist.
fn hs256_token(claims: &Value, secret: &[u8]) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let signed = format!("{header}.{body}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}
