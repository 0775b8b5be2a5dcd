use std::sync::{Arc, OnceLock};

/// An SDK client made the first time a request needs it.
///
/// Making an SDK client is not free: each service crate parses its own copy of the
/// endpoint partition table the first time one of its clients is made (about
/// 0.7 M instructions, measured with callgrind). The jobs function needs SQS only to
/// submit a job, the account function Step Functions only to start or confirm a
/// deletion, and the consumers SNS only when a message leads to an event, so a cold
/// start whose first request needs none of them no longer pays for it. The
/// DynamoDB client, which every request uses, is still made at init.
pub struct LazyClient<C> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    client: OnceLock<C>,
    make: Box<dyn Fn() -> C + Send + Sync>,
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> LazyClient<C> {
    /// `make` runs once, at the first `get`; clones share the client it makes.
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: OnceLock::new(),
                make: Box::new(make),
            }),
        }
    }

    /// The client, made on the first call.
    pub fn get(&self) -> &C {
        self.inner.client.get_or_init(|| (self.inner.make)())
    }
}

/// A client that is already made (tests, or a caller that wants it at init).
impl<C: Clone + Send + Sync + 'static> From<C> for LazyClient<C> {
    fn from(client: C) -> Self {
        let lazy = Self::new({
            let client = client.clone();
            move || client.clone()
        });
        // A fresh OnceLock is empty, so this always sets it.
        let _ = lazy.inner.client.set(client);
        lazy
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn the_client_is_made_once_at_first_use_and_shared_by_clones() {
        let made = Arc::new(AtomicUsize::new(0));
        let lazy = LazyClient::new({
            let made = Arc::clone(&made);
            move || made.fetch_add(1, Ordering::SeqCst) + 100
        });
        let clone = lazy.clone();
        assert_eq!(made.load(Ordering::SeqCst), 0, "made before it was needed");
        assert_eq!(*clone.get(), 100);
        assert_eq!(*lazy.get(), 100);
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(*LazyClient::from(7_usize).get(), 7);
    }
}
