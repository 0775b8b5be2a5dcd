//! `TransactWriteItems` with the one retry DynamoDB leaves to the caller.
//!
//! DynamoDB cancels a transaction that overlaps another in-flight transaction on
//! the same item, with reason `TransactionConflict`, and the SDK does not retry it.
//! Two clients rotating the same refresh token, or registering the same email, hit
//! exactly this. Sending again re-evaluates the conditions once the other
//! transaction has committed, so the loser gets `ConditionalCheckFailed`, the answer
//! a serial caller would get, instead of a 503.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use rand_core::{OsRng, RngCore};

const ATTEMPTS: u32 = 5;
const BASE_BACKOFF: Duration = Duration::from_millis(5);

pub(super) type TransactResult =
    Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError>>;

/// Sends the transaction, again after a jittered backoff while it is cancelled for
/// a conflict, at most `ATTEMPTS` times in all.
pub(super) async fn transact(request: TransactWriteItemsFluentBuilder) -> TransactResult {
    let mut attempt = 1;
    loop {
        let result = request.clone().send().await;
        if attempt == ATTEMPTS || !is_conflict(&result) {
            return result;
        }
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

/// A transaction item that puts `item` only if no item has its key yet.
pub(super) fn put_if_absent(
    table: &str,
    item: super::item::Item,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, crate::ports::StoreError> {
    aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map(|put| {
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build()
        })
        .map_err(|e| crate::ports::StoreError::new("build transaction", e))
}

/// The code of the cancellation reason at `index` (one per item, in request order).
pub(super) fn cancellation_code(result: &TransactResult, index: usize) -> Option<&str> {
    match result.as_ref().err()?.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(c) => {
            c.cancellation_reasons().get(index)?.code()
        }
        _ => None,
    }
}

fn is_conflict(result: &TransactResult) -> bool {
    matches!(
        result.as_ref().err().and_then(|e| e.as_service_error()),
        Some(TransactWriteItemsError::TransactionCanceledException(c))
            if c.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict"))
    )
}

/// Full jitter over an exponential ceiling: 5, 10, 20, 40 ms.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF * 2u32.pow(attempt - 1);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(OsRng.next_u64() % (millis + 1))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    // The SDK's own result type, as `transact` returns it.
    #[allow(clippy::result_large_err)]
    fn cancelled(codes: &[&str]) -> TransactResult {
        let reasons = codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect();
        let error = TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(reasons))
                .build(),
        );
        let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        Err(SdkError::service_error(error, raw))
    }

    #[test]
    fn only_conflicts_are_retried() {
        assert!(is_conflict(&cancelled(&["None", "TransactionConflict"])));
        assert!(!is_conflict(&cancelled(&[
            "ConditionalCheckFailed",
            "None"
        ])));
        assert!(!is_conflict(&Ok(
            TransactWriteItemsOutput::builder().build()
        )));
    }

    #[test]
    fn reasons_are_read_by_position() {
        let result = cancelled(&["None", "ConditionalCheckFailed"]);
        assert_eq!(
            cancellation_code(&result, 1),
            Some("ConditionalCheckFailed")
        );
        assert_eq!(cancellation_code(&result, 0), Some("None"));
        assert_eq!(cancellation_code(&result, 2), None);
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for attempt in 1..ATTEMPTS {
            assert!(backoff(attempt) <= BASE_BACKOFF * 2u32.pow(attempt - 1));
        }
    }
}
