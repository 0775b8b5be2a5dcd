//! SQS, SNS and Step Functions behind the messaging ports. Clients are built once
//! per process, at their first use, and shared; every call is a single request the SDK retries on
//! throttling and transient errors.

mod lazy_client;
mod sfn;
mod sns;
mod sqs;

pub use lazy_client::LazyClient;
pub use sfn::{SfnDeletionWorkflow, SfnTasks};
pub use sns::SnsEventPublisher;
pub use sqs::SqsJobQueue;
