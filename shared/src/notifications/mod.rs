//! Notifications: the subscriber that turns published events into records, and
//! how the API shows them.

use std::sync::Arc;

use crate::app::EventSubscriber;
use crate::domain::{Event, EventDetail, JobStatus, Notification, UserId};
use crate::error::Error;
use crate::jobs::JobContext;
use crate::ports::{NotificationStore, StoreError, Stores};

/// The events subscriber (SNS → SQS → notifier on AWS; the events queue locally
/// and on Azure).
#[derive(Clone)]
pub struct Notifier {
    stores: Stores,
    context: JobContext,
    subscribers: Vec<Arc<dyn EventSubscriber>>,
}

impl Notifier {
    /// Skiff's notifications, then each of the app's `subscribers` in order.
    pub fn new(context: JobContext, subscribers: Vec<Arc<dyn EventSubscriber>>) -> Self {
        Self {
            stores: context.stores.clone(),
            context,
            subscribers,
        }
    }

    /// Skiff's notification for the event, then the app's subscribers. An error
    /// from any of them sends the event back for another delivery; what already
    /// ran is keyed by the event, so running it again adds nothing.
    pub async fn handle(&self, event: Event) -> Result<(), Error> {
        self.notify(&event).await?;
        for subscriber in &self.subscribers {
            subscriber.handle(&self.context, &event).await?;
        }
        Ok(())
    }

    /// Idempotent: the same event twice is one notification. An event is written
    /// only if it agrees with the record it is about, so a message nobody
    /// published (a stray or replayed queue message, say)
    /// cannot put words in a user's notifications.
    async fn notify(&self, event: &Event) -> Result<(), StoreError> {
        if let EventDetail::AccountDeleted { .. } | EventDetail::App(_) = event.detail {
            // The account and its notifications are gone; writing one now would
            // leave data behind for a user who no longer exists.
            tracing::info!(kind = event.detail.kind(), "event needs no notification");
            return Ok(());
        }
        if !self.agrees_with_the_record(event).await? {
            // Forged, or about a job or deletion that is gone: nothing to tell.
            tracing::warn!(
                kind = event.detail.kind(),
                "event does not match the stored record; no notification"
            );
            return Ok(());
        }
        let notification = Notification::from_event(event.clone());
        self.stores.notifications.add(&notification).await?;
        tracing::info!(notification_id = %notification.id, kind = notification.event.detail.kind(), "notification stored");
        Ok(())
    }
}

impl Notifier {
    async fn agrees_with_the_record(&self, event: &Event) -> Result<bool, StoreError> {
        let user = event.user_id;
        Ok(match &event.detail {
            EventDetail::JobSucceeded { job_id } => self
                .stores
                .jobs
                .get(user, *job_id)
                .await?
                .is_some_and(|job| job.status == JobStatus::Succeeded),
            EventDetail::JobFailed { job_id, error } => self
                .stores
                .jobs
                .get(user, *job_id)
                .await?
                .is_some_and(|job| {
                    job.status == JobStatus::Failed
                        && job.error.as_deref().unwrap_or_default() == error
                }),
            EventDetail::AccountDeletionRequested {
                deletion_id,
                code,
                expires_at,
            } => self
                .stores
                .deletions
                .get(user, *deletion_id)
                .await?
                .is_some_and(|d| {
                    d.code_hash.matches(*deletion_id, code)
                        && d.expires_at.unix_millis() == *expires_at
                }),
            EventDetail::AccountDeleted { .. } | EventDetail::App(_) => false,
        })
    }
}

/// `GET /notifications`.
#[derive(Clone)]
pub struct NotificationService {
    store: Arc<dyn NotificationStore>,
}

impl NotificationService {
    /// The most notifications one listing returns.
    pub const MAX_ITEMS: usize = 100;

    /// Notifications in `store`.
    pub fn new(store: Arc<dyn NotificationStore>) -> Self {
        Self { store }
    }

    /// The caller's newest notifications, at most [`MAX_ITEMS`](Self::MAX_ITEMS).
    pub async fn list(&self, user: UserId) -> Result<Vec<Notification>, Error> {
        Ok(self.store.list(user, Self::MAX_ITEMS).await?)
    }
}
