//! Token-based login: Argon2id password hashes, RS256 access tokens published as a
//! JWKS, rotating opaque refresh tokens, and client-aware login throttling.

mod access_token;
mod argon2_memory;
mod authenticator;
mod bounded_hasher;
mod credentials;
mod federated_credentials;
pub mod federation;
mod keys;
mod login_throttles;
mod password_hasher;
mod rs256_on_ring;
mod service;
mod verified_tokens;

pub use access_token::{AccessClaims, AccessTokenError, TokenSigner, TokenVerifier};
pub use authenticator::{Authenticated, Authenticator};
pub use bounded_hasher::{BoundedHasher, HashingLimits, Verified};
pub use credentials::CredentialCheck;
pub use federated_credentials::REAUTHENTICATION_WINDOW;
pub use federation::Federation;
#[cfg(any(test, feature = "dev-keys"))]
pub use keys::generate_private_key_pem;
pub use keys::{Jwk, Jwks, KeyError, KeyRing, PublicKeys};
pub use login_throttles::{LoginThrottles, Reservation};
pub use password_hasher::PasswordHasher;
pub use service::{AuthService, AuthSettings, IssuedTokens};
