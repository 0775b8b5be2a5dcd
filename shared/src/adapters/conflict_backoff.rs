//! The pause before an optimistic write tries again after losing a race.
//!
//! A login throttle's client counter is written by every login from one address:
//! twenty at once all read the same revision, one wins, and without a pause the
//! other nineteen collide again at once, round after round, until some run out of
//! tries. Full jitter spreads them out, so each round has few writers.

use std::time::Duration;

use rand_core::{OsRng, RngCore};

/// Sleeps a random time up to `2^attempt` ms (at most 64 ms).
pub(crate) async fn after_conflict(attempt: usize) {
    let ceiling = 1u64 << attempt.min(6);
    tokio::time::sleep(Duration::from_millis(OsRng.next_u64() % (ceiling + 1))).await;
}
