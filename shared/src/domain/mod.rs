//! Domain types that parse at the edge, so the rest of the code never re-checks them.

mod deletion;
mod email;
mod event;
mod identity;
mod ids;
mod job;
mod password;
mod record;
mod refresh_token;
mod session;
mod throttle;
mod timestamp;

pub use deletion::{CodeHash, ConfirmationCode, Deletion, DeletionStatus, MAX_WRONG_CODES};
pub use email::{Email, EmailError};
pub use event::{AppEvent, AppEventKind, BadAppEventKind, Event, EventDetail, Notification};
pub use identity::{FederatedIdentity, IdentityError};
pub use ids::{DeletionId, JobId, NotificationId, SessionId, UserId};
pub use job::{
    AlreadyFinished, IdempotencyKey, Job, JobInput, JobInputTooLarge, JobKind, JobStatus,
};
pub use password::{Password, PasswordError};
pub use record::{
    BadCollection, BadRecordId, Collection, Document, DocumentError, Record, RecordExpectation,
    RecordId,
};
pub use refresh_token::{RefreshToken, RefreshTokenHash};
pub use session::{Session, SessionData, SessionDataError, SessionPolicy, Version};
pub use throttle::{
    Admission, ClientAddress, LoginThrottlePolicy, Settlement, ThrottleKey, ThrottleLimit,
    ThrottleScope, ThrottleState,
};
pub use timestamp::Timestamp;
