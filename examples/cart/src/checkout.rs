//! The `checkout` job: the cart becomes an order record, exactly once.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use skiff::app::{JobContext, JobError, JobHandler};
use skiff::domain::{Job, RecordId, SessionId};

use crate::cart::{CART, Qty, Sku};
use crate::orders::{Order, orders};

/// The job kind's name.
pub const CHECKOUT: &str = "checkout";

/// What `POST /cart/checkout` submits: the session whose cart it was and the
/// items as they were then.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The session holding the cart.
    pub session_id: SessionId,
    /// The cart's items at checkout.
    pub items: BTreeMap<Sku, Qty>,
}

/// Runs a checkout. A job runs at least once, so every effect is keyed by the
/// job: the order's id is the job's (a second create finds it and stops), and the
/// cart remembers which checkouts it gave up (a second take changes nothing).
pub struct Checkout;

fn retryable(e: skiff::Error) -> JobError {
    JobError::Retryable(e.to_string())
}

#[async_trait]
impl JobHandler for Checkout {
    fn validate(&self, input: &Value) -> Result<(), String> {
        let input = CheckoutInput::deserialize(input).map_err(|e| e.to_string())?;
        if input.items.is_empty() {
            return Err("a checkout needs at least one item".into());
        }
        Ok(())
    }

    async fn run(&self, context: &JobContext, job: &Job) -> Result<Value, JobError> {
        let input = CheckoutInput::deserialize(job.input.as_value())
            .map_err(|e| JobError::Permanent(format!("invalid checkout: {e}")))?;
        let user = job.user_id;
        let order_id = RecordId::for_job(job.id);
        let orders = orders(&context.records);
        if orders
            .get(user, order_id)
            .await
            .map_err(retryable)?
            .is_none()
        {
            // Only a live session's cart becomes an order: after a logout (or an
            // account deletion, which ends every session) nothing is placed.
            if context
                .sessions
                .active(user, input.session_id)
                .await
                .map_err(retryable)?
                .is_none()
            {
                return Err(JobError::Permanent(
                    "the session ended before the order was placed".into(),
                ));
            }
            let order = Order {
                items: input.items.clone(),
            };
            orders
                .create(user, order_id, &order)
                .await
                .map_err(retryable)?;
        }
        CART.update_of(&context.sessions, user, input.session_id, |cart| {
            cart.take_checkout(job.id, &input.items);
            Ok(())
        })
        .await
        .map_err(retryable)?;
        Ok(json!({ "order_id": order_id }))
    }
}
