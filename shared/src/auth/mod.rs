//! Token-based login: Argon2id password hashes, RS256 access tokens published as a
//! JWKS, rotating opaque refresh tokens, and account lockout.

mod access_token;
mod argon2_memory;
mod authenticator;
mod keys;
mod password_hasher;
mod service;

pub use access_token::{AccessClaims, AccessTokenError, TokenSigner, TokenVerifier};
pub use authenticator::{Authenticated, Authenticator};
pub use keys::{Jwk, Jwks, KeyError, KeyRing, PublicKeys, generate_private_key_pem};
pub use password_hasher::PasswordHasher;
pub use service::{AuthService, AuthSettings, IssuedTokens};
