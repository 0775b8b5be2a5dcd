use std::sync::Arc;

use axum::Router;

use crate::api::{self, AppState, Discovery, HttpLimits};
use crate::auth::{
    AuthService, AuthSettings, AuthStores, KeyRing, PasswordHasher, TokenSigner, TokenVerifier,
};
use crate::error::Error;
use crate::ports::{Clock, LockoutStore, RefreshTokenStore, SessionStore, SystemClock, UserStore};
use crate::sessions::SessionService;

/// The stores one backend provides; every host hands one of these to [`build_router`].
pub struct Backend {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub lockouts: Arc<dyn LockoutStore>,
}

impl Backend {
    /// One value implementing every port (the SQLite store, say).
    pub fn from_store<S>(store: S) -> Self
    where
        S: UserStore + SessionStore + RefreshTokenStore + LockoutStore + 'static,
    {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store.clone(),
            refresh_tokens: store.clone(),
            lockouts: store,
        }
    }
}

/// Builds the whole contract once per process: keys, hasher and services are made
/// here, at init, never per request.
pub fn build_router(
    backend: Backend,
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
    let sessions = SessionService::new(backend.sessions.clone(), clock.clone(), settings.session);
    let auth = AuthService::new(
        AuthStores {
            users: backend.users,
            sessions: backend.sessions,
            refresh_tokens: backend.refresh_tokens,
            lockouts: backend.lockouts,
        },
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
