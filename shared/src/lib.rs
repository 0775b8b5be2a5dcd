#![deny(missing_docs)]
//! Skiff: the pieces every stateful app needs once it moves to functions (token
//! login, session state outside the function, per-user records, jobs, events and
//! an account-deletion workflow) behind one HTTP contract, served by the same code
//! on AWS Lambda, as an Azure Functions custom handler and as a local server.
//!
//! - [`app`] is where an app starts: [`app::App`] adds routes, typed session state
//!   ([`app::SessionState`]), records ([`app::Records`]), job kinds and event
//!   subscribers to Skiff's contract.
//! - [`hosts`] runs an `App`: `hosts::local::run_app`, `hosts::lambda::run_app_http`
//!   (and `run_worker_with`, `run_notifier_with`), `hosts::azure::run_app`, each
//!   behind its cargo feature (`sqlite`, `lambda`, `azure`).
//! - [`domain`] holds the types that parse at the edge, [`ports`] the traits every
//!   backend implements, [`adapters`] the backends (SQLite, DynamoDB, Azure Table).
//! - [`batch`] and [`idempotency`] are usable on their own in any function.

pub mod adapters;
pub mod api;
pub mod app;
pub mod auth;
pub mod batch;
pub mod config;
pub mod domain;
pub mod error;
pub mod hosts;
pub mod idempotency;
pub mod jobs;
pub mod notifications;
pub mod ports;
pub mod sessions;
pub mod telemetry;
pub mod workflow;

pub use error::Error;
/// The metrics facade Skiff records through, so an app's `metrics::counter!` calls
/// reach the same sink as Skiff's own without a dependency of its own.
pub use metrics;
