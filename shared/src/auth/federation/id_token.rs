//! Verifying an issuer's ID token: RS256 only, a key from the issuer's JWKS, and
//! the claims OIDC Core §3.1.3.7 asks a relying party to check.

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::issuer::FederatedIssuer;
use super::key_cache::{IssuerKeys, KeyLookup};
use crate::domain::{Email, FederatedIdentity, Timestamp};
use crate::ports::StoreError;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;

/// Why an ID token was refused. Only "invalid credentials" reaches the client;
/// the reason is logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the token is not a well-formed JWT")]
    /// Not a JWT.
    Malformed,
    #[error("the token is not signed with RS256")]
    /// `none`, HS256 (signed with the public key as a secret) or anything else.
    WrongAlgorithm,
    #[error("the token's issuer is not trusted")]
    /// No configured issuer.
    UnknownIssuer,
    #[error("the token names no key id or one the issuer does not publish")]
    /// Signed by another key.
    UnknownKey,
    #[error("the token is expired")]
    /// Past its `exp`.
    Expired,
    #[error("the token's signature, audience or times are invalid")]
    /// A bad signature, audience, `nbf` or `iat`, or a missing claim.
    Invalid,
    #[error("the token is not an ID token")]
    /// `token_use` other than `id` (a Cognito access token).
    NotAnIdToken,
}

/// Why verification did not finish: the token, or the issuer.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The token is bad: 401.
    #[error(transparent)]
    Refused(#[from] IdTokenError),
    /// The issuer's keys could not be fetched: 503.
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// A verified ID token: who it names, and what the account may keep.
#[derive(Clone, Debug)]
pub struct VerifiedIdToken {
    /// The (`iss`, `sub`) pair.
    pub identity: FederatedIdentity,
    /// The email, only if the issuer says it is verified.
    pub verified_email: Option<Email>,
    /// When the person last authenticated at the issuer (`auth_time`, else `iat`).
    pub authenticated_at: Timestamp,
}

#[derive(Deserialize)]
struct IssuerOnly {
    iss: String,
}

/// Cognito sends `email_verified` as a boolean; some issuers send `"true"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => t == "true",
        }
    }
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    iat: i64,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Flag>,
}

fn validation(issuer: &FederatedIssuer) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&issuer.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// One configured issuer and its keys.
pub(super) struct TrustedIssuer {
    pub(super) setting: FederatedIssuer,
    pub(super) keys: IssuerKeys,
}

/// Checks `token` against the issuer its `iss` names, at `now`.
pub(super) async fn verify(
    issuers: &[TrustedIssuer],
    token: &str,
    now: Timestamp,
) -> Result<VerifiedIdToken, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenError::WrongAlgorithm.into());
    }
    // The issuer is read before the signature is checked only to pick whose keys
    // check it; the signature then covers it, and `iss` is validated again below.
    let claimed: IssuerOnly = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|_| IdTokenError::Malformed)?;
    let trusted = issuers
        .iter()
        .find(|i| i.setting.issuer == claimed.iss)
        .ok_or(IdTokenError::UnknownIssuer)?;
    let kid = header.kid.ok_or(IdTokenError::UnknownKey)?;
    let key = match trusted.keys.key(&kid).await? {
        KeyLookup::Found(key) => key,
        KeyLookup::Unknown => return Err(IdTokenError::UnknownKey.into()),
    };
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation(&trusted.setting))
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => IdTokenError::Expired,
            _ => IdTokenError::Invalid,
        })?
        .claims;
    // jsonwebtoken checks `exp` and `nbf` but not that `iat` is in the past.
    if claims.iat > now.unix_seconds() + LEEWAY_SECONDS as i64 {
        return Err(IdTokenError::Invalid.into());
    }
    match claims.token_use.as_deref() {
        Some("id") => {}
        None if !trusted.setting.is_cognito() => {}
        _ => return Err(IdTokenError::NotAnIdToken.into()),
    }
    let identity =
        FederatedIdentity::new(&claims.iss, &claims.sub).map_err(|_| IdTokenError::Invalid)?;
    let verified_email = match (claims.email, claims.email_verified) {
        (Some(email), Some(flag)) if flag.is_true() => Email::parse(&email).ok(),
        _ => None,
    };
    Ok(VerifiedIdToken {
        identity,
        verified_email,
        authenticated_at: Timestamp::from_unix_millis(
            claims.auth_time.unwrap_or(claims.iat).saturating_mul(1000),
        ),
    })
}
