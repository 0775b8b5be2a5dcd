//! The glue per platform: each host builds the shared Router (or event handlers)
//! and translates its platform's envelopes.

mod app;
#[cfg(feature = "azure")]
pub mod azure;
pub mod chained;
pub mod client_address;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "sqlite")]
pub mod local;
mod session_store;
#[cfg(any(feature = "sqlite", feature = "azure"))]
mod shutdown;

pub use app::{
    Backend, account_part, app_context, app_part, auth_part, build_router, credential_check,
    deletion_steps, discovery_part, job_context, job_service, job_worker, jobs_part, notifier,
    openapi_part, sessions_part,
};
pub use session_store::with_session_store;
