//! What the core needs from the outside world. Every backend (SQLite, DynamoDB,
//! Azure Table) implements these; the HTTP API is built from nothing else.

mod clock;
#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
pub(crate) mod conformance_records;
#[cfg(test)]
pub(crate) mod conformance_work;
mod deletions;
mod idempotency;
mod jobs;
mod messaging;
mod notifications;
mod records;
mod refresh_tokens;
mod sessions;
mod store_error;
mod stores;
/// Login throttles: the port and the admit/settle rules over it.
pub mod throttles;
mod users;

pub use clock::{Clock, SystemClock};
pub use deletions::{CreateDeletionError, DeletionStore};
pub use idempotency::{Claim, IdempotencyRecord, IdempotencyStore};
pub use jobs::JobStore;
pub use messaging::{DeletionWorkflow, EventPublisher, JobMessage, JobQueue, Proceed};
pub use notifications::NotificationStore;
pub use records::{RecordStore, RecordWrite, next_record};
pub use refresh_tokens::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
#[cfg(any(feature = "dynamodb", feature = "redis"))]
pub(crate) use sessions::stored_session_data;
pub use sessions::{CreateSessionError, SessionStore, SessionWrite};
pub use store_error::StoreError;
pub use stores::{AllStores, Messaging, Stores};
pub use throttles::{ThrottleChange, ThrottleStore};
pub use users::{CreateUserError, Login, User, UserStore};
