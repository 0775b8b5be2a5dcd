//! Which AWS calls count as failed on AWS's side (`BackendErrors` by service).
//!
//! Counted at the one connector every SDK client shares rather than at each of the
//! adapters' calls: no answer, a 5xx, or throttling. A 4xx such as a failed
//! condition is the service answering as designed, and the adapters handle it.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

pub(super) fn failed_on_aws_side(response: &HttpResponse) -> bool {
    let status = response.status().as_u16();
    let throttled = response
        .headers()
        .get("x-amzn-errortype")
        .is_some_and(|kind| {
            [
                "Throttl",
                "ProvisionedThroughputExceeded",
                "RequestLimitExceeded",
            ]
            .iter()
            .any(|k| kind.contains(k))
        });
    status >= 500 || status == 429 || throttled
}

/// The service a request was signed for: SigV4's credential scope ends
/// `/<region>/<service>/aws4_request`.
pub(super) fn service_of(authorization: Option<&str>) -> &'static str {
    let service = authorization
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split([',', ' ']).next())
        .and_then(|scope| scope.split('/').nth(3));
    match service {
        Some("dynamodb") => "dynamodb",
        Some("sqs") => "sqs",
        Some("sns") => "sns",
        Some("states") => "states",
        Some("secretsmanager") => "secretsmanager",
        _ => "aws",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_counted_under_the_service_the_request_was_signed_for() {
        let signed = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(service_of(Some(signed)), "dynamodb");
        assert_eq!(
            service_of(Some(&signed.replace("dynamodb", "states"))),
            "states"
        );
        assert_eq!(service_of(None), "aws");
        assert_eq!(service_of(Some("Bearer x")), "aws");
    }
}
