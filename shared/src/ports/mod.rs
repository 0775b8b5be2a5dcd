//! What the core needs from the outside world. Every backend (SQLite, DynamoDB,
//! Azure Table) implements these; the HTTP API is built from nothing else.

mod clock;
#[cfg(test)]
pub(crate) mod conformance;
mod lockouts;
mod refresh_tokens;
mod sessions;
mod store_error;
mod stores;
mod users;

pub use clock::{Clock, SystemClock};
pub use lockouts::LockoutStore;
pub use refresh_tokens::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
pub use sessions::{SessionStore, SessionWrite};
pub use store_error::StoreError;
pub use stores::Stores;
pub use users::{CreateUserError, User, UserStore};
