//! The `order.placed` notification, from a finished checkout.

use async_trait::async_trait;
use serde_json::{Map, json};
use skiff::app::{EventSubscriber, JobContext};
use skiff::domain::{
    AppEvent, AppEventKind, Event, EventDetail, JobStatus, Notification, RecordId,
};

use crate::checkout::CHECKOUT;
use crate::orders::orders;

/// Turns `job.succeeded` for a checkout into `order.placed`. Events are not
/// signed, so it acts only on what the stores confirm: a succeeded checkout job
/// of the event's user and the order that job made.
pub struct OrderPlaced;

#[async_trait]
impl EventSubscriber for OrderPlaced {
    async fn handle(&self, context: &JobContext, event: &Event) -> Result<(), skiff::Error> {
        let EventDetail::JobSucceeded { job_id } = &event.detail else {
            return Ok(());
        };
        let user = event.user_id;
        let Some(job) = context.stores.jobs.get(user, *job_id).await? else {
            return Ok(());
        };
        if job.kind.as_str() != CHECKOUT || job.status != JobStatus::Succeeded {
            return Ok(());
        }
        let order_id = RecordId::for_job(job.id);
        let Some(order) = orders(&context.records).get(user, order_id).await? else {
            return Ok(());
        };
        // A literal kind, checked by `the_kind_is_valid`.
        let kind = AppEventKind::parse("order.placed").expect("a valid event kind");
        let mut fields = Map::new();
        fields.insert("order_id".into(), json!(order_id));
        fields.insert(
            "item_count".into(),
            json!(
                order
                    .value
                    .items
                    .values()
                    .map(|q| u32::from(u8::from(*q)))
                    .sum::<u32>()
            ),
        );
        let placed = Event::new(
            user,
            order.created_at,
            EventDetail::App(AppEvent {
                kind,
                subject: order_id.to_string(),
                fields,
            }),
        );
        // Keyed by (kind, order): a redelivered event adds nothing.
        context
            .stores
            .notifications
            .add(&Notification::from_event(placed))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kind_is_valid() {
        assert!(skiff::domain::AppEventKind::parse("order.placed").is_ok());
    }
}
