//! The X-Ray trace header of the Lambda invocation being handled, sent on the AWS
//! calls it makes, so X-Ray joins DynamoDB, SNS or SQS to the invocation that
//! called them and those services can see a loop of calls.
//!
//! The SDK sends that header (its recursion-detection interceptor) only from the
//! process environment's `_X_AMZN_TRACE_ID`, which lambda_runtime sets in its
//! classic loop, one invocation at a time. With `AWS_LAMBDA_MAX_CONCURRENCY` > 1 it
//! leaves the variable unset, since invocations in flight together would overwrite
//! each other's, and the header would be lost. Here it is kept per task instead,
//! and Skiff's HTTP client for the SDK adds it where the SDK did not.

use http::HeaderValue;

/// The header AWS services read the trace from.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// Runs `work` (one invocation) with its trace header, when Lambda gave one. A
/// value that is not a valid header (Lambda's are ASCII) is left out rather than
/// fail the invocation: the trace is lost, the work is not.
pub async fn scope<F: Future>(trace_id: Option<&str>, work: F) -> F::Output {
    match trace_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        Some(header) => CURRENT.scope(header, work).await,
        None => work.await,
    }
}

/// The trace header of the invocation this task is handling, if any.
pub fn current() -> Option<HeaderValue> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_header_is_the_invocations_and_only_inside_it() {
        assert!(current().is_none());
        let inside = scope(
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"),
            async { current() },
        )
        .await;
        assert_eq!(
            inside.unwrap(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
        );
        assert!(current().is_none());
        assert!(
            scope(Some("bad\nvalue"), async { current() })
                .await
                .is_none()
        );
        assert!(scope(None, async { current() }).await.is_none());
    }
}
