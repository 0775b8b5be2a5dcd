use std::error::Error;

/// A backend failed (I/O, throttling, corrupt record). It is logged with its
/// source and answered as an opaque 503: callers can retry, nothing leaks.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct StoreError {
    context: &'static str,
    #[source]
    source: Option<Box<dyn Error + Send + Sync>>,
}

impl StoreError {
    /// A failure with its cause (logged, never shown).
    pub fn new(context: &'static str, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self {
            context,
            source: Some(source.into()),
        }
    }

    /// A failure without an underlying error.
    pub fn message(context: &'static str) -> Self {
        Self {
            context,
            source: None,
        }
    }
}
