use std::time::Duration;

use super::Timestamp;

/// Brute-force protection per account key: `max_failures` failed logins within
/// `window` lock the account for `duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub duration: Duration,
}

/// Failed-login bookkeeping for one account key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutState {
    pub failures: u32,
    pub window_started_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

impl LockoutState {
    /// The state after one more failed attempt at `now`. A failure outside the
    /// current window starts a new window; reaching the limit locks the account.
    pub fn after_failure(previous: Option<Self>, now: Timestamp, policy: &LockoutPolicy) -> Self {
        let in_window = previous
            .filter(|p| now < p.window_started_at.saturating_add(policy.window))
            .filter(|p| p.locked_until.is_none_or(|until| now < until));
        let mut state = match in_window {
            Some(p) => Self {
                failures: p.failures.saturating_add(1),
                ..p
            },
            None => Self {
                failures: 1,
                window_started_at: now,
                locked_until: None,
            },
        };
        if state.failures >= policy.max_failures && state.locked_until.is_none() {
            state.locked_until = Some(now.saturating_add(policy.duration));
        }
        state
    }

    /// How long the caller must wait, if the account is locked at `now`.
    pub fn retry_after(&self, now: Timestamp) -> Option<Duration> {
        self.locked_until
            .filter(|until| now < *until)
            .map(|until| now.until(until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 5,
        window: Duration::from_secs(900),
        duration: Duration::from_secs(600),
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_millis(seconds * 1000)
    }

    fn fail_times(times: &[i64]) -> LockoutState {
        times
            .iter()
            .fold(None, |state, t| {
                Some(LockoutState::after_failure(state, at(*t), &POLICY))
            })
            .unwrap()
    }

    #[test]
    fn locks_on_the_fifth_failure_within_the_window() {
        let four = fail_times(&[0, 1, 2, 3]);
        assert_eq!(four.retry_after(at(4)), None);
        let five = fail_times(&[0, 1, 2, 3, 4]);
        assert_eq!(five.retry_after(at(4)), Some(Duration::from_secs(600)));
        assert_eq!(five.retry_after(at(600)), Some(Duration::from_secs(4)));
        assert_eq!(five.retry_after(at(604)), None);
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let state = fail_times(&[0, 1, 2, 3, 900]);
        assert_eq!(state.failures, 1);
        assert_eq!(state.retry_after(at(900)), None);
    }

    #[test]
    fn an_expired_lock_starts_a_fresh_count() {
        let state = fail_times(&[0, 1, 2, 3, 4, 700]);
        assert_eq!(state.failures, 1);
        assert_eq!(state.retry_after(at(700)), None);
    }
}
