//! Session state kept outside the function: versioned, size-limited, expiring.

mod service;

pub use service::{Precondition, SessionService};
