//! The glue per platform: each host builds the shared Router (or event handlers)
//! and translates its platform's envelopes.

mod app;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "sqlite")]
pub mod local;

pub use app::{auth_part, build_router, discovery_part, sessions_part};
