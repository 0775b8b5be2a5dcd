//! Jobs: the kinds a user can submit, the service behind the HTTP routes, and the
//! worker that runs queued jobs exactly once in effect.

mod export;
mod registry;
mod service;
mod worker;

pub use export::Export;
pub use registry::{Echo, JobContext, JobError, JobHandler, JobRegistry};
pub use service::{JobPage, JobService, SubmitJob, SubmittedJob};
pub use worker::{JobWorker, WorkerError};
