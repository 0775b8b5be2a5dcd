use std::sync::Arc;

use super::{LockoutStore, RefreshTokenStore, SessionStore, UserStore};

/// Every store the core needs, as one backend provides them. Hosts build one of
/// these at init and hand it to `hosts::build_router`.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    pub lockouts: Arc<dyn LockoutStore>,
}

impl Stores {
    /// One value implementing every port (the SQLite store, say).
    pub fn from_one<S>(store: S) -> Self
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
