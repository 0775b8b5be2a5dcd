//! SQS, SNS and Step Functions behind the messaging ports. Clients are built once
//! per process and shared; every call is a single request the SDK retries on
//! throttling and transient errors.

mod sfn;
mod sns;
mod sqs;

pub use sfn::{SfnDeletionWorkflow, SfnTasks};
pub use sns::SnsEventPublisher;
pub use sqs::SqsJobQueue;
