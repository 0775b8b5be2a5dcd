use crate::domain::Timestamp;

/// Time as the core sees it; a port so tests can pin it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

#[derive(Clone, Copy, Debug, Default)]
/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
