//! Domain types that parse at the edge, so the rest of the code never re-checks them.

mod deletion;
mod email;
mod event;
mod ids;
mod job;
mod lockout;
mod password;
mod refresh_token;
mod session;
mod timestamp;

pub use deletion::{ConfirmationCode, Deletion, DeletionStatus};
pub use email::{Email, EmailError};
pub use event::{Event, EventDetail, Notification};
pub use ids::{DeletionId, JobId, NotificationId, SessionId, UserId};
pub use job::{
    AlreadyFinished, IdempotencyKey, Job, JobInput, JobInputTooLarge, JobKind, JobStatus,
};
pub use lockout::{Admission, LockoutPolicy, LockoutState};
pub use password::{Password, PasswordError};
pub use refresh_token::{RefreshToken, RefreshTokenHash};
pub use session::{Session, SessionData, SessionDataError, SessionPolicy, Version};
pub use timestamp::Timestamp;
