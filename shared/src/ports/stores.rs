use std::sync::Arc;

use super::{
    DeletionStore, DeletionWorkflow, EventPublisher, IdempotencyStore, JobQueue, JobStore,
    NotificationStore, RecordStore, RefreshTokenStore, SessionStore, ThrottleStore, UserStore,
};

/// Every store the core needs, as one backend provides them. Hosts build one of
/// these at init and hand it to `hosts::build_router`.
#[derive(Clone)]
pub struct Stores {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Sessions and their data.
    pub sessions: Arc<dyn SessionStore>,
    /// Refresh tokens.
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// Login throttle counters.
    pub throttles: Arc<dyn ThrottleStore>,
    /// Jobs.
    pub jobs: Arc<dyn JobStore>,
    /// Idempotency records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Notifications.
    pub notifications: Arc<dyn NotificationStore>,
    /// Account-deletion requests.
    pub deletions: Arc<dyn DeletionStore>,
    /// Apps' own records.
    pub records: Arc<dyn RecordStore>,
}

/// A value implementing every store port (the SQLite store, the DynamoDB store).
pub trait AllStores:
    UserStore
    + SessionStore
    + RefreshTokenStore
    + ThrottleStore
    + JobStore
    + IdempotencyStore
    + NotificationStore
    + DeletionStore
    + RecordStore
    + 'static
{
}

impl<S> AllStores for S where
    S: UserStore
        + SessionStore
        + RefreshTokenStore
        + ThrottleStore
        + JobStore
        + IdempotencyStore
        + NotificationStore
        + DeletionStore
        + RecordStore
        + 'static
{
}

impl Stores {
    /// One value implementing every port.
    pub fn from_one<S: AllStores>(store: S) -> Self {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store.clone(),
            refresh_tokens: store.clone(),
            throttles: store.clone(),
            jobs: store.clone(),
            idempotency: store.clone(),
            notifications: store.clone(),
            deletions: store.clone(),
            records: store,
        }
    }
}

/// The asynchronous edges: where jobs, events and deletions are handed off.
#[derive(Clone)]
pub struct Messaging {
    /// Where jobs are queued.
    pub jobs: Arc<dyn JobQueue>,
    /// Where events are published.
    pub events: Arc<dyn EventPublisher>,
    /// The account-deletion workflow.
    pub workflow: Arc<dyn DeletionWorkflow>,
}
