use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, get_parsed, get_s, get_time, n, s, time};
use super::owned::{OwnedQuery, key_of, owned_key};
use super::{DynamoStore, is_condition_failure};
use crate::domain::{Job, JobId, JobInput, UserId};
use crate::ports::{JobStore, StoreError};

const PREFIX: &str = "JOB#";

/// Job ids are UUIDv7, so the sort key orders a user's jobs by creation.
fn job_key(user: UserId, id: JobId) -> Item {
    owned_key(user, &format!("{PREFIX}{id}"))
}

fn json_attr(item: &Item, name: &str) -> Result<Option<serde_json::Value>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => serde_json::from_str(get_s(item, name)?)
            .map(Some)
            .map_err(|e| StoreError::new("decode job", e)),
    }
}

fn job_from(item: &Item) -> Result<Job, StoreError> {
    let input = json_attr(item, "input")?.unwrap_or_default();
    Ok(Job {
        id: get_parsed(item, "job_id")?,
        user_id: get_parsed(item, "user_id")?,
        kind: get_parsed(item, "kind")?,
        input: JobInput::parse(input).map_err(|e| StoreError::new("decode job", e))?,
        status: get_parsed(item, "status")?,
        result: json_attr(item, "result")?,
        error: item.get("error").and_then(|v| v.as_s().ok()).cloned(),
        attempts: get_parsed(item, "attempts")?,
        created_at: get_time(item, "created_at")?,
        updated_at: get_time(item, "updated_at")?,
    })
}

#[async_trait]
impl JobStore for DynamoStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        let mut item = job_key(job.user_id, job.id);
        item.insert("job_id".into(), s(job.id.to_string()));
        item.insert("user_id".into(), s(job.user_id.to_string()));
        item.insert("kind".into(), s(job.kind.as_str()));
        item.insert("input".into(), s(job.input.as_value().to_string()));
        item.insert("status".into(), s(job.status.as_str()));
        item.insert("attempts".into(), n(job.attempts));
        item.insert("created_at".into(), time(job.created_at));
        item.insert("updated_at".into(), time(job.updated_at));
        self.put_new(item, "create job").await
    }

    async fn get(&self, user: UserId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.read(job_key(user, id), "get job")
            .await?
            .as_ref()
            .map(job_from)
            .transpose()
    }

    async fn list(
        &self,
        user: UserId,
        limit: usize,
        before: Option<JobId>,
    ) -> Result<Vec<Job>, StoreError> {
        let query = OwnedQuery {
            prefix: PREFIX,
            newest_first: true,
            limit: Some(i32::try_from(limit).unwrap_or(i32::MAX)),
            below: before.map(|id| format!("{PREFIX}{id}")),
        };
        self.query_owned(user, query)
            .await?
            .iter()
            .map(job_from)
            .collect()
    }

    async fn transition(&self, current: &Job, next: &Job) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(job_key(current.user_id, current.id)))
            .condition_expression("#status = :was AND attempts = :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":was", s(current.status.as_str()))
            .expression_attribute_values(":attempts", n(current.attempts))
            .expression_attribute_values(":status", s(next.status.as_str()))
            .expression_attribute_values(":next_attempts", n(next.attempts))
            .expression_attribute_values(":updated", time(next.updated_at));
        let mut set = vec![
            "#status = :status",
            "attempts = :next_attempts",
            "updated_at = :updated",
        ];
        if let Some(result) = &next.result {
            set.push("#result = :result");
            update = update
                .expression_attribute_names("#result", "result")
                .expression_attribute_values(":result", s(result.to_string()));
        }
        if let Some(error) = &next.error {
            set.push("#error = :error");
            update = update
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", s(error));
        }
        match update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::new("update job", e)),
        }
    }

    async fn delete_for_user(&self, user: UserId) -> Result<(), StoreError> {
        let items = self.query_owned(user, OwnedQuery::all(PREFIX)).await?;
        self.delete_keys(items.iter().map(key_of), "delete jobs of user")
            .await
    }
}
