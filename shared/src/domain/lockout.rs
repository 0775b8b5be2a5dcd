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
    /// Attempts admitted in this window that have not (yet) succeeded.
    pub failures: u32,
    pub window_started_at: Timestamp,
    pub locked_until: Option<Timestamp>,
}

/// Whether a login attempt may check the password at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Locked { retry_after: Duration },
}

impl LockoutState {
    /// Admits one attempt at `now`, counting it as a failure up front.
    ///
    /// Counting before the password is checked (and clearing on success) is what
    /// makes the limit hold under concurrency: N parallel guesses are N atomic
    /// increments, so at most `max_failures` of them are ever admitted per window.
    /// Returns the state to store (unchanged when locked) and the admission.
    pub fn admit(
        previous: Option<Self>,
        now: Timestamp,
        policy: &LockoutPolicy,
    ) -> (Option<Self>, Admission) {
        if let Some(retry_after) = previous.and_then(|p| p.retry_after(now)) {
            return (previous, Admission::Locked { retry_after });
        }
        let in_window = previous
            .filter(|p| p.locked_until.is_none())
            .filter(|p| now < p.window_started_at.saturating_add(policy.window));
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
        if state.failures >= policy.max_failures {
            // This attempt is still admitted; the next one is refused.
            state.locked_until = Some(now.saturating_add(policy.duration));
        }
        (Some(state), Admission::Admitted)
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

    /// Attempts at the given times, none succeeding; returns each admission.
    fn attempts(times: &[i64]) -> (Option<LockoutState>, Vec<Admission>) {
        let mut state = None;
        let mut admissions = Vec::new();
        for t in times {
            let (next, admission) = LockoutState::admit(state, at(*t), &POLICY);
            state = next;
            admissions.push(admission);
        }
        (state, admissions)
    }

    #[test]
    fn admits_five_attempts_then_locks() {
        let (state, admissions) = attempts(&[0, 1, 2, 3, 4, 5]);
        assert!(admissions[..5].iter().all(|a| *a == Admission::Admitted));
        assert_eq!(
            admissions[5],
            Admission::Locked {
                retry_after: Duration::from_secs(599)
            }
        );
        let state = state.unwrap();
        assert_eq!(state.failures, 5, "a refused attempt is not counted");
        assert_eq!(state.retry_after(at(600)), Some(Duration::from_secs(4)));
        assert_eq!(state.retry_after(at(604)), None);
    }

    #[test]
    fn attempts_outside_the_window_start_over() {
        let (state, admissions) = attempts(&[0, 1, 2, 3, 900, 901]);
        assert!(admissions.iter().all(|a| *a == Admission::Admitted));
        assert_eq!(state.unwrap().failures, 2);
    }

    #[test]
    fn an_expired_lock_starts_a_fresh_count() {
        let (state, admissions) = attempts(&[0, 1, 2, 3, 4, 700]);
        assert_eq!(admissions[5], Admission::Admitted);
        let state = state.unwrap();
        assert_eq!((state.failures, state.locked_until), (1, None));
    }

    #[test]
    fn a_limit_of_one_admits_exactly_one() {
        let policy = LockoutPolicy {
            max_failures: 1,
            ..POLICY
        };
        let (state, first) = LockoutState::admit(None, at(0), &policy);
        assert_eq!(first, Admission::Admitted);
        let (_, second) = LockoutState::admit(state, at(1), &policy);
        assert!(matches!(second, Admission::Locked { .. }));
    }
}
