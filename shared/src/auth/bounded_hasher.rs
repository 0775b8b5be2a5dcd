//! Password hashing with a bound on how many hashes run at once.
//!
//! Each Argon2id hash holds 19 MiB while it runs. Unbounded, a flood of logins
//! (each waiting for a blocking thread) turns into hundreds of buffers at once: a
//! 128 MB function or a small container dies. Here at most `permits` hashes run
//! per process; a request that cannot start its hash within `queue_timeout` is
//! answered 503 with `Retry-After`, and memory stays at `permits` buffers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::PasswordHasher;
use crate::domain::Password;
use crate::error::Error;

/// How many hashes may run at once and how long a request may wait for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingLimits {
    /// Hashes at once per process (each holds 19 MiB).
    pub concurrency: usize,
    /// How long a request waits to start its hash before 503.
    pub queue_timeout: Duration,
}

impl HashingLimits {
    /// One hash per core, and the contract's 2 s of waiting.
    pub fn default_for_this_machine() -> Self {
        Self {
            concurrency: std::thread::available_parallelism().map_or(1, usize::from),
            queue_timeout: Duration::from_secs(2),
        }
    }
}

/// What checking a password found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// The password matched; `upgraded` holds a hash with today's parameters when
    /// the stored one was weaker.
    Yes {
        /// A hash with today's parameters when the stored one was weaker.
        upgraded: Option<String>,
    },
    /// The password did not match.
    No,
}

/// A [`PasswordHasher`] behind a semaphore; cheap to clone.
#[derive(Clone)]
pub struct BoundedHasher {
    hasher: PasswordHasher,
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
}

impl BoundedHasher {
    /// `hasher` behind a semaphore of `limits.concurrency` permits.
    pub fn new(hasher: PasswordHasher, limits: HashingLimits) -> Self {
        Self {
            hasher,
            permits: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            queue_timeout: limits.queue_timeout,
        }
    }

    /// A new hash of `password`.
    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        let hasher = self.hasher.clone();
        self.run(move || hasher.hash(&password)).await?
    }

    /// Checks `candidate` against `stored` (or the dummy hash when there is no
    /// account), and re-hashes a matching password whose stored hash is weaker than
    /// today's parameters, in the same slot.
    pub async fn verify(
        &self,
        candidate: String,
        stored: Option<String>,
    ) -> Result<Verified, Error> {
        let hasher = self.hasher.clone();
        self.run(move || {
            if !hasher.verify(&candidate, stored.as_deref()) {
                return Ok(Verified::No);
            }
            let upgraded = match stored.as_deref() {
                Some(phc) if hasher.needs_rehash(phc) => {
                    // `candidate` verified, so it is a password someone set; a stored
                    // hash may predate today's length rules, so hash it as it is.
                    Some(hasher.hash_raw(candidate.as_bytes())?)
                }
                _ => None,
            };
            Ok(Verified::Yes { upgraded })
        })
        .await?
    }

    /// Runs `work` on a blocking thread once a permit is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit =
            match tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                // Closed never happens (the semaphore is never closed); a timeout is load.
                Ok(Err(_)) | Err(_) => {
                    tracing::warn!("password hashing saturated; refusing the request");
                    return Err(Error::Overloaded {
                        retry_after: Duration::from_secs(1),
                    });
                }
            };
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| Error::internal(format!("password hashing task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounded(concurrency: usize, queue_timeout: Duration) -> BoundedHasher {
        BoundedHasher::new(
            PasswordHasher::new().unwrap(),
            HashingLimits {
                concurrency,
                queue_timeout,
            },
        )
    }

    #[tokio::test]
    async fn a_request_that_cannot_start_its_hash_in_time_is_refused() {
        let hasher = bounded(1, Duration::from_millis(1));
        let password = || Password::parse("correct horse battery".to_owned()).unwrap();
        // Eight at once on one permit with 1 ms of patience: the first runs, and
        // some of the others must give up instead of queueing their 19 MiB.
        let results = futures_util::future::join_all((0..8).map(|_| hasher.hash(password()))).await;
        assert!(results.iter().any(Result::is_ok));
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(Error::Overloaded { .. }))),
            "every hash ran although only one permit exists"
        );
    }

    #[tokio::test]
    async fn weaker_stored_hashes_are_upgraded_on_a_match_only() {
        let weak = PasswordHasher::weaker_hash_for_tests("correct horse battery");
        let hasher = bounded(2, Duration::from_secs(2));
        assert_eq!(
            hasher
                .verify("wrong horse battery".into(), Some(weak.clone()))
                .await
                .unwrap(),
            Verified::No
        );
        let Verified::Yes {
            upgraded: Some(new),
        } = hasher
            .verify("correct horse battery".into(), Some(weak))
            .await
            .unwrap()
        else {
            panic!("a weaker hash was not upgraded");
        };
        assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{new}");
        // Today's hash needs nothing.
        assert_eq!(
            hasher
                .verify("correct horse battery".into(), Some(new))
                .await
                .unwrap(),
            Verified::Yes { upgraded: None }
        );
    }
}
