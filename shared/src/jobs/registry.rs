use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::Export;
use crate::app::Records;
use crate::domain::SessionPolicy;
use crate::domain::{Job, JobKind};
use crate::ports::{Clock, Stores};
use crate::sessions::SessionService;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a backend hiccup): the message is redelivered until
    /// the job's attempts run out.
    #[error("{0}")]
    Retryable(String),
    /// No attempt will ever succeed: the job ends `failed` now.
    #[error("{0}")]
    Permanent(String),
}

/// What code off the request path (a job handler, an event subscriber) may use:
/// the backend's stores and the services apps build on.
#[derive(Clone)]
pub struct JobContext {
    /// Every store port of the backend the host runs on.
    pub stores: Stores,
    /// Sessions, for [`SessionState::update_of`](crate::app::SessionState::update_of).
    pub sessions: SessionService,
    /// The app's records.
    pub records: Records,
    /// The time source every service uses.
    pub clock: Arc<dyn Clock>,
}

impl JobContext {
    /// The services over `stores`, with the session lifetimes of `policy`.
    pub fn new(stores: Stores, policy: SessionPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            sessions: SessionService::new(stores.sessions.clone(), clock.clone(), policy),
            records: Records::new(stores.records.clone(), clock.clone()),
            stores,
            clock,
        }
    }
}

/// One kind of job. Implement this and add one `register` line to
/// [`JobRegistry::builtin`] (or to your own registry) to add a kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Checked at submission, so a bad input is a 400 then and not a failed job later.
    fn validate(&self, _input: &Value) -> Result<(), String> {
        Ok(())
    }

    /// Computes the job's result. Called at least once per job; only one call's
    /// result is ever recorded, so a handler must not have effects of its own that
    /// a second call would repeat.
    async fn run(&self, context: &JobContext, job: &Job) -> Result<Value, JobError>;
}

/// `echo`: the result is the input.
pub struct Echo;

#[async_trait]
impl JobHandler for Echo {
    async fn run(&self, _: &JobContext, job: &Job) -> Result<Value, JobError> {
        Ok(job.input.as_value().clone())
    }
}

/// The job kinds a host knows, by name.
#[derive(Clone, Default)]
pub struct JobRegistry {
    kinds: HashMap<JobKind, Arc<dyn JobHandler>>,
}

impl JobRegistry {
    /// No kinds at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The kinds of the contract: `echo` and `export`.
    pub fn builtin() -> Self {
        Self::empty()
            .register("echo", Echo)
            .register("export", Export)
    }

    /// Adds (or replaces) a kind.
    ///
    /// # Panics
    /// If `name` is not a valid [`JobKind`]: names are literals in code, so a bad
    /// one is a programming error caught by the first test that builds the registry.
    pub fn register(mut self, name: &str, handler: impl JobHandler + 'static) -> Self {
        // Names are code literals (see Panics above).
        let kind = JobKind::parse(name).expect("job kind names are valid literals");
        self.kinds.insert(kind, Arc::new(handler));
        self
    }

    /// The handler of `kind`, if the registry has it.
    pub fn get(&self, kind: &JobKind) -> Option<&Arc<dyn JobHandler>> {
        self.kinds.get(kind)
    }

    /// The kind names, sorted (what an unknown-kind error lists).
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.kinds.keys().map(JobKind::as_str).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_are_echo_and_export() {
        assert_eq!(JobRegistry::builtin().names(), ["echo", "export"]);
    }

    #[test]
    fn one_line_adds_a_kind() {
        struct Shout;
        #[async_trait]
        impl JobHandler for Shout {
            async fn run(&self, _: &JobContext, job: &Job) -> Result<Value, JobError> {
                Ok(Value::String(
                    job.input.as_value().to_string().to_uppercase(),
                ))
            }
        }
        let registry = JobRegistry::builtin().register("shout", Shout);
        assert!(registry.get(&JobKind::parse("shout").unwrap()).is_some());
    }
}
