use std::sync::Arc;

use axum::Router;

use crate::api::{self, AppState, Discovery, HttpLimits};
use crate::auth::{AuthService, AuthSettings, KeyRing, PasswordHasher, TokenSigner, TokenVerifier};
use crate::error::Error;
use crate::ports::{Clock, Stores, SystemClock};
use crate::sessions::SessionService;

/// Builds the whole contract once per process: keys, hasher and services are made
/// here, at init, never per request.
pub fn build_router(
    stores: Stores,
    keys: &KeyRing,
    settings: &AuthSettings,
    limits: HttpLimits,
) -> Result<Router, Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let signer = TokenSigner::new(
        keys,
        settings.issuer.clone(),
        settings.audience.clone(),
        settings.access_token_ttl,
    );
    let verifier = TokenVerifier::new(keys, &settings.issuer, &settings.audience);
    let sessions = SessionService::new(stores.sessions.clone(), clock.clone(), settings.session);
    let auth = AuthService::new(
        stores,
        clock,
        PasswordHasher::new()?,
        signer,
        verifier,
        settings,
    );
    let state = AppState {
        auth,
        sessions,
        discovery: Arc::new(Discovery::new(&settings.issuer, keys)),
    };
    Ok(api::router(state, limits))
}
