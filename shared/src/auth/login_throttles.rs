//! The login throttles as the auth flows use them: every counter an attempt goes
//! through is admitted at once, and settled once the password has been checked.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::domain::{Admission, LoginThrottlePolicy, Settlement, ThrottleKey};
use crate::error::Error;
use crate::ports::{Clock, ThrottleStore, throttles};

/// Cheap to clone; built once per process.
#[derive(Clone)]
pub struct LoginThrottles {
    store: Arc<dyn ThrottleStore>,
    clock: Arc<dyn Clock>,
    policy: LoginThrottlePolicy,
    /// How long an attempt may wait for slots held by attempts still in flight
    /// before it is answered 503 (the same patience as for a password hash).
    busy_wait: Duration,
}

/// Slots held by one admitted attempt. Settle it; dropped unsettled (the request
/// was cancelled), it gives its slots back on its own.
pub struct Reservation {
    keys: Vec<ThrottleKey>,
    throttles: Option<LoginThrottles>,
}

impl LoginThrottles {
    /// Counters in `store` under `policy`; a busy counter is waited on for up to `busy_wait`.
    pub fn new(
        store: Arc<dyn ThrottleStore>,
        clock: Arc<dyn Clock>,
        policy: LoginThrottlePolicy,
        busy_wait: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            policy,
            busy_wait,
        }
    }

    /// Reserves a slot in every counter of `keys`, or in none: 429 when one of them
    /// is locked, 503 when their slots stay taken by attempts in flight.
    pub async fn admit(&self, keys: Vec<ThrottleKey>) -> Result<Reservation, Error> {
        let deadline = tokio::time::Instant::now() + self.busy_wait;
        let mut pause = Duration::from_millis(10);
        loop {
            match self.try_admit(&keys).await? {
                Admission::Admitted => {
                    return Ok(Reservation {
                        keys,
                        throttles: Some(self.clone()),
                    });
                }
                Admission::Locked { retry_after } => {
                    tracing::info!("login attempt refused: throttled");
                    return Err(Error::TooManyAttempts { retry_after });
                }
                Admission::Busy => {
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        tracing::warn!("login attempt refused: its throttle slots stayed busy");
                        return Err(Error::Overloaded {
                            retry_after: Duration::from_secs(1),
                        });
                    }
                    tokio::time::sleep(pause.min(deadline - now)).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        }
    }

    /// One round of admissions. The first key (the most specific: one account
    /// from one client) goes first and alone: it is the one a waiting retry is
    /// refused by, and while it refuses, the counters shared by many attempts behind
    /// it (a client's, an account's) are not written at all. The rest go together;
    /// a refusal gives back the slots the others granted, and the longest lock wins.
    async fn try_admit(&self, keys: &[ThrottleKey]) -> Result<Admission, Error> {
        let Some((first, rest)) = keys.split_first() else {
            return Ok(Admission::Admitted);
        };
        let now = self.clock.now();
        match throttles::admit(&*self.store, first, now, &self.policy).await? {
            Admission::Admitted => {}
            refusal => return Ok(refusal),
        }
        let answers = join_all(
            rest.iter()
                .map(|k| throttles::admit(&*self.store, k, now, &self.policy)),
        )
        .await;
        let granted: Vec<ThrottleKey> = std::iter::once(first)
            .chain(
                rest.iter()
                    .zip(&answers)
                    .filter(|(_, a)| matches!(a, Ok(Admission::Admitted)))
                    .map(|(k, _)| k),
            )
            .cloned()
            .collect();
        let mut refusal = Admission::Admitted;
        for answer in answers {
            match answer {
                Ok(Admission::Admitted) => {}
                Ok(Admission::Locked { retry_after }) => {
                    refusal = match refusal {
                        Admission::Locked { retry_after: other } => Admission::Locked {
                            retry_after: retry_after.max(other),
                        },
                        _ => Admission::Locked { retry_after },
                    };
                }
                Ok(Admission::Busy) => {
                    if refusal == Admission::Admitted {
                        refusal = Admission::Busy;
                    }
                }
                Err(e) => {
                    self.settle_all(&granted, Settlement::Released).await;
                    return Err(e.into());
                }
            }
        }
        if refusal != Admission::Admitted {
            self.settle_all(&granted, Settlement::Released).await;
        }
        Ok(refusal)
    }

    /// Best effort: a settlement that fails is logged, and its slot comes free after
    /// the in-flight timeout anyway.
    async fn settle_all(&self, keys: &[ThrottleKey], settlement: Settlement) {
        let now = self.clock.now();
        let results = join_all(
            keys.iter()
                .map(|k| throttles::settle(&*self.store, k, settlement, now, &self.policy)),
        )
        .await;
        for result in results {
            if let Err(e) = result {
                tracing::warn!(error = %e, ?settlement, "could not settle a login throttle");
            }
        }
    }
}

impl Reservation {
    /// Records how the attempt ended in every counter it holds.
    pub async fn settle(mut self, settlement: Settlement) {
        if let Some(throttles) = self.throttles.take() {
            throttles.settle_all(&self.keys, settlement).await;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let Some(throttles) = self.throttles.take() else {
            return;
        };
        let keys = std::mem::take(&mut self.keys);
        // Outside a runtime nothing can be sent; the slots then time out.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { throttles.settle_all(&keys, Settlement::Released).await });
        }
    }
}
