//! Skiff's own metrics, recorded through the `metrics` facade so that they reach
//! whichever sink the host installed (EMF on Lambda, Prometheus on the local
//! server) next to an app's own. Names are CloudWatch-style, as Powertools writes
//! them; a label is a dimension, and none ever holds a user id, email or token.

use metrics::Unit;

/// A successful password or federated login.
pub const LOGINS_SUCCEEDED: &str = "LoginsSucceeded";
/// A login refused for its credentials (wrong password, unknown account, bad ID token).
pub const LOGINS_FAILED: &str = "LoginsFailed";
/// A login refused by the login throttles before its credentials were checked.
pub const LOGINS_THROTTLED: &str = "LoginsThrottled";
/// A refresh token rotated.
pub const REFRESH_ROTATIONS: &str = "RefreshRotations";
/// A spent refresh token presented again: likely theft; its session was revoked.
pub const REFRESH_REUSE_DETECTED: &str = "RefreshReuseDetected";
/// A session write that lost a race with another write and was retried or refused.
pub const SESSION_WRITE_CONFLICTS: &str = "SessionWriteConflicts";
/// A job accepted by `POST /jobs` (not counting idempotent replays).
pub const JOBS_SUBMITTED: &str = "JobsSubmitted";
/// A job that finished successfully.
pub const JOBS_SUCCEEDED: &str = "JobsSucceeded";
/// A job that finished failed (permanently, or out of attempts).
pub const JOBS_FAILED: &str = "JobsFailed";
/// A job attempt that failed and went back to the queue for another.
pub const JOBS_RETRIED: &str = "JobsRetried";
/// A queue record a batch reported as failed (left for redelivery).
pub const BATCH_ITEM_FAILURES: &str = "BatchItemFailures";
/// An account deletion requested.
pub const DELETIONS_REQUESTED: &str = "DeletionsRequested";
/// An account deletion confirmed with its code.
pub const DELETIONS_CONFIRMED: &str = "DeletionsConfirmed";
/// An account deleted.
pub const DELETIONS_COMPLETED: &str = "DeletionsCompleted";
/// A deletion request that was never confirmed in time.
pub const DELETIONS_EXPIRED: &str = "DeletionsExpired";
/// A failed call to a backend, labelled `backend` (`dynamodb`, `sqs`, `sns`,
/// `states`, `secretsmanager`, `sqlite`, `redis`, `azure-table`, `azure-queue`).
pub const BACKEND_ERRORS: &str = "BackendErrors";
/// The first invocation of an execution environment (Lambda only).
pub const COLD_START: &str = "ColdStart";

/// The label of [`BACKEND_ERRORS`].
pub const BACKEND_LABEL: &str = "backend";

/// Every metric above with what it counts, for a sink's descriptions.
pub const ALL: [(&str, &str); 17] = [
    (LOGINS_SUCCEEDED, "Successful logins"),
    (LOGINS_FAILED, "Logins refused for their credentials"),
    (LOGINS_THROTTLED, "Logins refused by the login throttles"),
    (REFRESH_ROTATIONS, "Refresh tokens rotated"),
    (
        REFRESH_REUSE_DETECTED,
        "Spent refresh tokens presented again (sessions revoked)",
    ),
    (
        SESSION_WRITE_CONFLICTS,
        "Session writes that lost a race with another write",
    ),
    (JOBS_SUBMITTED, "Jobs accepted"),
    (JOBS_SUCCEEDED, "Jobs finished successfully"),
    (JOBS_FAILED, "Jobs finished failed"),
    (JOBS_RETRIED, "Job attempts that failed and were retried"),
    (BATCH_ITEM_FAILURES, "Queue records reported failed"),
    (DELETIONS_REQUESTED, "Account deletions requested"),
    (DELETIONS_CONFIRMED, "Account deletions confirmed"),
    (DELETIONS_COMPLETED, "Accounts deleted"),
    (DELETIONS_EXPIRED, "Deletion requests never confirmed"),
    (BACKEND_ERRORS, "Failed calls to a backend, by backend"),
    (COLD_START, "First invocations of an execution environment"),
];

/// Gives every Skiff metric its unit and description in the installed recorder
/// (the Prometheus text's `# HELP`, the EMF document's `Unit`).
pub fn describe() {
    for (name, help) in ALL {
        metrics::describe_counter!(name, Unit::Count, help);
    }
}

/// One more of `name`.
pub(crate) fn count(name: &'static str) {
    metrics::counter!(name).increment(1);
}

/// `n` more of `name` (nothing is recorded for zero).
pub(crate) fn count_n(name: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(name).increment(n);
    }
}

/// One more failed call to `backend`. Only the adapters call it, so a build
/// with none of them has no use for it.
#[cfg(any(
    feature = "dynamodb",
    feature = "aws-messaging",
    feature = "azure",
    feature = "redis",
    feature = "sqlite"
))]
pub(crate) fn backend_error(backend: &'static str) {
    metrics::counter!(BACKEND_ERRORS, BACKEND_LABEL => backend).increment(1);
}
