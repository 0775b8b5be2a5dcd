use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Modified, TableStore, parse, user_pk};
use crate::adapters::azure::table::Write;
use crate::domain::{Job, JobId, JobInput, Timestamp, UserId};
use crate::ports::{JobStore, StoreError};

#[derive(Clone, Serialize, Deserialize)]
struct JobDoc {
    job_id: String,
    user_id: String,
    kind: String,
    input: Value,
    status: String,
    result: Option<Value>,
    error: Option<String>,
    attempts: u32,
    created_at: i64,
    updated_at: i64,
}

impl JobDoc {
    fn of(job: &Job) -> Self {
        Self {
            job_id: job.id.to_string(),
            user_id: job.user_id.to_string(),
            kind: job.kind.as_str().to_owned(),
            input: job.input.as_value().clone(),
            status: job.status.as_str().to_owned(),
            result: job.result.clone(),
            error: job.error.clone(),
            attempts: job.attempts,
            created_at: job.created_at.unix_millis(),
            updated_at: job.updated_at.unix_millis(),
        }
    }

    fn job(self) -> Result<Job, StoreError> {
        Ok(Job {
            id: parse(&self.job_id, "decode job")?,
            user_id: parse(&self.user_id, "decode job")?,
            kind: parse(&self.kind, "decode job kind")?,
            input: JobInput::parse(self.input).map_err(|e| StoreError::new("decode job", e))?,
            status: parse(&self.status, "decode job status")?,
            result: self.result,
            error: self.error,
            attempts: self.attempts,
            created_at: Timestamp::from_unix_millis(self.created_at),
            updated_at: Timestamp::from_unix_millis(self.updated_at),
        })
    }
}

const PREFIX: &str = "job_";

/// Job ids are UUIDv7 (time first); inverting every bit makes an ascending
/// row-key scan list a user's jobs newest first.
fn job_row(id: JobId) -> String {
    let hex: String = id.to_string().chars().filter(|c| *c != '-').collect();
    // A UUID's 32 hex digits always parse as a u128.
    let bits = u128::from_str_radix(&hex, 16).unwrap_or_default();
    format!("{PREFIX}{:032x}", !bits)
}

#[async_trait]
impl JobStore for TableStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        match self
            .table
            .insert(
                &user_pk(job.user_id),
                &job_row(job.id),
                &JobDoc::of(job),
                "create job",
            )
            .await?
        {
            Write::Done => Ok(()),
            Write::Conflict => Err(StoreError::message("job id already taken")),
        }
    }

    async fn get(&self, user: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.table
            .get::<JobDoc>(&user_pk(user), &job_row(id), "get job")
            .await?
            .map(|stored| stored.value.job())
            .transpose()
    }

    async fn list(
        &self,
        user: UserId,
        limit: usize,
        before: Option<JobId>,
    ) -> Result<Vec<Job>, StoreError> {
        let after = before.map(job_row);
        self.table
            .query::<JobDoc>(
                &user_pk(user),
                PREFIX,
                after.as_deref(),
                Some(limit),
                "list jobs",
            )
            .await?
            .into_iter()
            .map(|(_, doc)| doc.job())
            .collect()
    }

    /// Only from the `(status, attempts)` the caller read, on the ETag.
    async fn transition(&self, current: &Job, next: &Job) -> Result<bool, StoreError> {
        let moved = self
            .modify::<JobDoc, _>(
                &user_pk(current.user_id),
                &job_row(current.id),
                "update job",
                |doc| {
                    (doc.status == current.status.as_str() && doc.attempts == current.attempts)
                        .then(|| JobDoc::of(next))
                },
            )
            .await?;
        Ok(matches!(moved, Modified::Changed(_)))
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.delete_owned(user, PREFIX, "delete jobs of user")
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_jobs_get_smaller_row_keys() {
        let first = JobId::new_time_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = JobId::new_time_ordered();
        assert!(job_row(second) < job_row(first));
        assert_eq!(job_row(first).len(), PREFIX.len() + 32);
    }
}
