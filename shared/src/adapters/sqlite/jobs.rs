use async_trait::async_trait;
use rusqlite::types::Type;
use rusqlite::{OptionalExtension, Row, params};

use super::{CachedStatements, SqliteStore, parse_column};
use crate::domain::{Job, JobId, JobInput, Timestamp, UserId};
use crate::ports::{JobStore, StoreError};

const COLUMNS: &str =
    "job_id, user_id, kind, input, status, result, error, attempts, created_at, updated_at";

fn json_column(text: String, column: usize) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(e)))
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let input = JobInput::parse(json_column(row.get(3)?, 3)?)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e)))?;
    Ok(Job {
        id: parse_column(row.get(0)?, 0)?,
        user_id: parse_column(row.get(1)?, 1)?,
        kind: parse_column(row.get(2)?, 2)?,
        input,
        status: parse_column(row.get(4)?, 4)?,
        result: row
            .get::<_, Option<String>>(5)?
            .map(|t| json_column(t, 5))
            .transpose()?,
        error: row.get(6)?,
        attempts: row.get(7)?,
        created_at: Timestamp::from_unix_millis(row.get(8)?),
        updated_at: Timestamp::from_unix_millis(row.get(9)?),
    })
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        let j = job.clone();
        self.call("insert job", move |conn| {
            conn.cached_execute(
                &format!(
                    "INSERT INTO jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    j.id.to_string(),
                    j.user_id.to_string(),
                    j.kind.as_str(),
                    j.input.as_value().to_string(),
                    j.status.as_str(),
                    j.result.map(|r| r.to_string()),
                    j.error,
                    j.attempts,
                    j.created_at.unix_millis(),
                    j.updated_at.unix_millis()
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn get(&self, user: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.read("get job", move |conn| {
            conn.cached_query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE job_id = ?1 AND user_id = ?2"),
                [id.to_string(), user.to_string()],
                job_from_row,
            )
            .optional()
        })
        .await
    }

    async fn list(
        &self,
        user: UserId,
        limit: usize,
        before: Option<JobId>,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read("list jobs", move |conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM jobs
                  WHERE user_id = ?1 AND (?2 IS NULL OR job_id < ?2)
                  ORDER BY job_id DESC LIMIT ?3"
            ))?;
            statement
                .query_map(
                    params![user.to_string(), before.map(|b| b.to_string()), limit],
                    job_from_row,
                )?
                .collect()
        })
        .await
    }

    async fn transition(&self, current: &Job, next: &Job) -> Result<bool, StoreError> {
        let (id, status, attempts) = (current.id, current.status, current.attempts);
        let n = next.clone();
        self.call("update job", move |conn| {
            conn.cached_execute(
                "UPDATE jobs SET status = ?1, result = ?2, error = ?3, attempts = ?4, updated_at = ?5
                  WHERE job_id = ?6 AND status = ?7 AND attempts = ?8",
                params![
                    n.status.as_str(),
                    n.result.map(|r| r.to_string()),
                    n.error,
                    n.attempts,
                    n.updated_at.unix_millis(),
                    id.to_string(),
                    status.as_str(),
                    attempts
                ],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        self.call("delete jobs of user", move |conn| {
            conn.cached_execute("DELETE FROM jobs WHERE user_id = ?1", [user.to_string()])
                .map(drop)
        })
        .await
    }
}
