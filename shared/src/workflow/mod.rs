//! The account-deletion workflow: its steps (one registry both the Step Functions
//! definition and the local engine follow), the code that runs them, and the
//! service behind `DELETE /account` and the confirmation endpoint.

mod service;
mod steps;

pub use service::DeletionService;
pub use steps::{DeletionStep, DeletionSteps, StepError, StepMessage, StepRunner};
