//! Builds the parts of the contract from stores, keys and settings, once per
//! process: keys, the Argon2 instance and its dummy hash, the JWKS and the discovery
//! document are made here, at init, never per request.

use std::sync::Arc;

use axum::Router;

use crate::api::{self, AuthApi, Discovery, HttpLimits, Part, SessionApi};
use crate::auth::{
    AuthService, AuthSettings, Authenticator, KeyRing, PasswordHasher, PublicKeys, TokenSigner,
    TokenVerifier,
};
use crate::error::Error;
use crate::ports::{Clock, Stores, SystemClock};
use crate::sessions::SessionService;

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn authenticator(stores: &Stores, keys: &PublicKeys, settings: &AuthSettings) -> Authenticator {
    Authenticator::new(
        TokenVerifier::new(keys, &settings.issuer, &settings.audience),
        stores.sessions.clone(),
        clock(),
        settings.session,
    )
}

/// Register, login, refresh and logout: needs the private signing keys.
pub fn auth_part(stores: &Stores, keys: &KeyRing, settings: &AuthSettings) -> Result<Part, Error> {
    let signer = TokenSigner::new(
        keys,
        settings.issuer.clone(),
        settings.audience.clone(),
        settings.access_token_ttl,
    );
    Ok(Part::Auth(Box::new(AuthApi {
        auth: AuthService::new(
            stores.clone(),
            clock(),
            PasswordHasher::new()?,
            signer,
            settings,
        ),
        authenticator: authenticator(stores, keys.public_keys(), settings),
    })))
}

/// Session reads and writes: public keys only.
pub fn sessions_part(stores: &Stores, keys: &PublicKeys, settings: &AuthSettings) -> Part {
    Part::Sessions(SessionApi {
        sessions: SessionService::new(stores.sessions.clone(), clock(), settings.session),
        authenticator: authenticator(stores, keys, settings),
    })
}

/// OpenID discovery and the JWKS.
pub fn discovery_part(keys: &PublicKeys, settings: &AuthSettings) -> Part {
    Part::Discovery(Arc::new(Discovery::new(&settings.issuer, keys)))
}

/// The whole contract, as the local server serves it.
pub fn build_router(
    stores: Stores,
    keys: &KeyRing,
    settings: &AuthSettings,
    limits: HttpLimits,
) -> Result<Router, Error> {
    let parts = [
        Part::Health,
        discovery_part(keys.public_keys(), settings),
        auth_part(&stores, keys, settings)?,
        sessions_part(&stores, keys.public_keys(), settings),
    ];
    Ok(api::router(parts, limits))
}
