#![warn(missing_docs)]
//! Skiff's platform-neutral core: domain types, ports, the auth and session flows,
//! the HTTP contract as one axum Router, backend adapters and per-platform hosts.

pub mod adapters;
pub mod api;
#[deny(missing_docs)]
pub mod app;
pub mod auth;
pub mod batch;
pub mod config;
#[deny(missing_docs)]
pub mod domain;
#[deny(missing_docs)]
pub mod error;
pub mod hosts;
pub mod idempotency;
#[deny(missing_docs)]
pub mod jobs;
pub mod notifications;
#[deny(missing_docs)]
pub mod ports;
#[deny(missing_docs)]
pub mod sessions;
pub mod telemetry;
pub mod workflow;

pub use error::Error;
