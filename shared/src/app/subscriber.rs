//! App code that reacts to Skiff's events.

use async_trait::async_trait;

use crate::domain::Event;
use crate::error::Error;
use crate::jobs::JobContext;

/// Reacts to published events (a job that succeeded, say), next to Skiff's own
/// notifier, on whatever carries events on the host (SNS → SQS on AWS, a Storage
/// Queue on Azure, the local events queue).
///
/// Delivery is at least once: the same event can arrive twice, so what a
/// subscriber writes must be keyed by the event (a notification's id is derived
/// from its kind and subject, which makes adding it twice one notification). An
/// error sends the event back to the queue for another attempt. Events are not
/// signed: check what an event claims against the stored record before acting.
#[async_trait]
pub trait EventSubscriber: Send + Sync {
    /// Handles one event.
    async fn handle(&self, context: &JobContext, event: &Event) -> Result<(), Error>;
}
