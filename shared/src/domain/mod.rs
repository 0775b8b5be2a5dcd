//! Domain types that parse at the edge, so the rest of the code never re-checks them.

mod email;
mod ids;
mod lockout;
mod password;
mod refresh_token;
mod session;
mod timestamp;

pub use email::{Email, EmailError};
pub use ids::{SessionId, UserId};
pub use lockout::{Admission, LockoutPolicy, LockoutState};
pub use password::{Password, PasswordError};
pub use refresh_token::{RefreshToken, RefreshTokenHash};
pub use session::{Session, SessionData, SessionDataError, SessionPolicy, Version};
pub use timestamp::Timestamp;
