//! Federated login: ID tokens from OpenID Connect issuers the operator trusts
//! (Cognito user pools first, Entra ID or any other), turned into Skiff accounts
//! keyed by (`iss`, `sub`).
//!
//! Verification is written here on top of `jsonwebtoken` (which checks the
//! signature, `exp`, `nbf`, `iss` and `aud`) because no maintained crate fetches
//! and caches an issuer's JWKS with a refetch bound and Cognito's `token_use`
//! rule without also bringing its own HTTP and TLS stack.

mod fetch;
mod id_token;
mod issuer;
mod key_cache;

pub use id_token::{IdTokenError, LEEWAY_SECONDS, VerifiedIdToken, VerifyError};
pub use issuer::{FederatedIssuer, JwksSource, parse_issuers};
pub use key_cache::REFETCH_INTERVAL;

use id_token::TrustedIssuer;
use key_cache::IssuerKeys;

use crate::domain::Timestamp;

/// The trusted issuers and their cached keys; build once per process and share.
pub struct Federation {
    issuers: Vec<TrustedIssuer>,
}

impl Federation {
    /// Trusts `issuers`; their keys are fetched at each one's first token.
    pub fn new(issuers: &[FederatedIssuer]) -> Self {
        Self::with_refetch_interval(issuers, REFETCH_INTERVAL)
    }

    /// With another bound on refetches than a minute (tests).
    pub(crate) fn with_refetch_interval(
        issuers: &[FederatedIssuer],
        refetch_interval: std::time::Duration,
    ) -> Self {
        super::rs256_on_ring::install();
        Self {
            issuers: issuers
                .iter()
                .map(|setting| TrustedIssuer {
                    keys: IssuerKeys::new(setting, refetch_interval),
                    setting: setting.clone(),
                })
                .collect(),
        }
    }

    /// Verifies `token`, an ID token of one of the trusted issuers.
    pub async fn verify(&self, token: &str) -> Result<VerifiedIdToken, VerifyError> {
        id_token::verify(&self.issuers, token, Timestamp::now()).await
    }
}

#[cfg(test)]
mod tests;
