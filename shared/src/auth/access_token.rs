use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{KeyRing, PublicKeys};
use super::verified_tokens::VerifiedTokens;
use crate::domain::{SessionId, Timestamp, UserId};
use crate::error::Error;

/// The claims of a Skiff access token (RS256 JWT).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Who issued it: `SKIFF_ISSUER`.
    pub iss: String,
    /// Who it is for: `SKIFF_AUDIENCE`.
    pub aud: String,
    /// The user.
    pub sub: UserId,
    /// The session (login) it belongs to.
    pub sid: SessionId,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// A unique id per token.
    pub jti: String,
}

/// Why a presented access token was refused. Only the category reaches the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessTokenError {
    #[error("the token is not a well-formed JWT")]
    /// Not a JWT.
    Malformed,
    #[error("the token names no key id or an unknown one")]
    /// Signed by a key the JWKS does not have.
    UnknownKey,
    #[error("the token is expired")]
    /// Past its `exp`.
    Expired,
    #[error("the token is invalid")]
    /// A bad signature, issuer, audience or claim.
    Invalid,
    #[error("the token is not an access token (typ is not at+jwt)")]
    /// Not typed `at+jwt`: an ID token or another JWT.
    NotAnAccessToken,
}

/// RFC 9068's media type for JWT access tokens. Required on every token presented,
/// so an ID token or any other JWT signed by the same keys is never an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

fn is_access_token_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE) || t.eq_ignore_ascii_case("application/at+jwt")
    })
}

/// Signs access tokens with the newest key of the ring.
#[derive(Clone)]
pub struct TokenSigner {
    kid: String,
    key: Arc<EncodingKey>,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl TokenSigner {
    /// Signs with `ring`'s newest key for `issuer` and `audience`.
    pub fn new(ring: &KeyRing, issuer: String, audience: String, lifetime: Duration) -> Self {
        super::rs256_on_ring::install();
        let (kid, key) = ring.signing_key();
        Self {
            kid: kid.to_owned(),
            key: Arc::new(key.clone()),
            issuer,
            audience,
            lifetime,
        }
    }

    /// How long a token lives.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// An access token for `user`'s `session`, issued `now`.
    pub fn sign(&self, user: UserId, session: SessionId, now: Timestamp) -> Result<String, Error> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user,
            sid: session,
            iat: now.unix_seconds(),
            exp: now.saturating_add(self.lifetime).unix_seconds(),
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::internal(format!("sign access token: {e}")))
    }
}

/// Verifies access tokens against every published key, RS256 only.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Arc<HashMap<String, DecodingKey>>,
    validation: Arc<Validation>,
    verified: Arc<VerifiedTokens>,
}

impl TokenVerifier {
    /// Allowed clock skew between the instances that sign and verify.
    const LEEWAY_SECONDS: u64 = 5;

    /// Verifies against `keys`, for `issuer` and `audience`.
    pub fn new(keys: &PublicKeys, issuer: &str, audience: &str) -> Self {
        super::rs256_on_ring::install();
        let keys = keys
            .decoding_keys()
            .map(|(kid, key)| (kid.to_owned(), key.clone()))
            .collect();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = Self::LEEWAY_SECONDS;
        Self {
            keys: Arc::new(keys),
            validation: Arc::new(validation),
            verified: Arc::new(VerifiedTokens::new()),
        }
    }

    /// The claims of a valid token. A token verified before by this verifier (or
    /// a clone of it) and not yet expired is not verified again.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AccessTokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(claims) = self.verified.get(token, now, Self::LEEWAY_SECONDS) {
            return Ok(claims);
        }
        let claims = self.verify_in_full(token)?;
        self.verified.insert(token, &claims);
        Ok(claims)
    }

    fn verify_in_full(&self, token: &str) -> Result<AccessClaims, AccessTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessTokenError::Malformed)?;
        // Checked before key lookup so an HS256 token "signed" with our public key never
        // reaches a verifier; `Validation` enforces it again.
        if header.alg != Algorithm::RS256 {
            return Err(AccessTokenError::Invalid);
        }
        if !is_access_token_type(header.typ.as_deref()) {
            return Err(AccessTokenError::NotAnAccessToken);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(AccessTokenError::UnknownKey)?;
        jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AccessTokenError::Expired,
                _ => AccessTokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::generate_private_key_pem;

    fn ring() -> KeyRing {
        KeyRing::from_private_pems(&[generate_private_key_pem().unwrap()]).unwrap()
    }

    /// A valid token for a new user and session, issued now.
    fn token_for_anyone(signer: &TokenSigner) -> String {
        signer
            .sign(
                UserId::new_random(),
                SessionId::new_random(),
                Timestamp::now(),
            )
            .unwrap()
    }

    #[test]
    fn signs_tokens_the_verifier_accepts() {
        let ring = ring();
        let signer = TokenSigner::new(&ring, "iss".into(), "aud".into(), Duration::from_secs(900));
        let verifier = TokenVerifier::new(ring.public_keys(), "iss", "aud");
        let (user, session) = (UserId::new_random(), SessionId::new_random());
        let token = signer.sign(user, session, Timestamp::now()).unwrap();
        let claims = verifier.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert_eq!(claims.exp - claims.iat, 900);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    }

    /// The same key and claims, signed as a plain JWT (an ID token, say): refused.
    #[test]
    fn tokens_of_another_type_are_refused() {
        let ring = ring();
        let signer = TokenSigner::new(&ring, "iss".into(), "aud".into(), Duration::from_secs(900));
        let verifier = TokenVerifier::new(ring.public_keys(), "iss", "aud");
        let now = Timestamp::now();
        let claims = AccessClaims {
            iss: "iss".into(),
            aud: "aud".into(),
            sub: UserId::new_random(),
            sid: SessionId::new_random(),
            iat: now.unix_seconds(),
            exp: now.unix_seconds() + 900,
            jti: "j".into(),
        };
        for typ in [None, Some("JWT"), Some("id+jwt")] {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(signer.kid.clone());
            header.typ = typ.map(str::to_owned);
            let token = jsonwebtoken::encode(&header, &claims, &signer.key).unwrap();
            assert_eq!(
                verifier.verify(&token),
                Err(AccessTokenError::NotAnAccessToken),
                "{typ:?}"
            );
        }
    }

    #[test]
    fn rejects_other_issuer_audience_and_keys() {
        let ring = ring();
        let signer = TokenSigner::new(&ring, "iss".into(), "aud".into(), Duration::from_secs(900));
        let token = token_for_anyone(&signer);
        assert_eq!(
            TokenVerifier::new(ring.public_keys(), "other", "aud").verify(&token),
            Err(AccessTokenError::Invalid)
        );
        assert_eq!(
            TokenVerifier::new(ring.public_keys(), "iss", "other").verify(&token),
            Err(AccessTokenError::Invalid)
        );
        assert_eq!(
            TokenVerifier::new(self::ring().public_keys(), "iss", "aud").verify(&token),
            Err(AccessTokenError::UnknownKey)
        );
        assert_eq!(
            TokenVerifier::new(ring.public_keys(), "iss", "aud").verify("not.a.jwt"),
            Err(AccessTokenError::Malformed)
        );
    }

    /// A token verified once is remembered by its exact text: a copy with one
    /// signature character changed is still verified, and refused.
    #[test]
    fn a_remembered_token_does_not_vouch_for_an_altered_one() {
        let ring = ring();
        let signer = TokenSigner::new(&ring, "iss".into(), "aud".into(), Duration::from_secs(900));
        let verifier = TokenVerifier::new(ring.public_keys(), "iss", "aud");
        let token = token_for_anyone(&signer);
        let first = verifier.verify(&token).unwrap();
        assert_eq!(verifier.clone().verify(&token), Ok(first));
        assert_eq!(verifier.verified.len(), 1);
        let mut altered = token.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(verifier.verify(&altered), Err(AccessTokenError::Invalid));
        assert_eq!(
            verifier.verified.len(),
            1,
            "a refused token is not remembered"
        );
    }

    #[test]
    fn expired_tokens_are_expired() {
        let ring = ring();
        let signer = TokenSigner::new(&ring, "iss".into(), "aud".into(), Duration::from_secs(60));
        let long_ago = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - 3_600_000);
        let token = signer
            .sign(UserId::new_random(), SessionId::new_random(), long_ago)
            .unwrap();
        assert_eq!(
            TokenVerifier::new(ring.public_keys(), "iss", "aud").verify(&token),
            Err(AccessTokenError::Expired)
        );
    }
}
