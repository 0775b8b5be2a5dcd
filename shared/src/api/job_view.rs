//! How the API shows a job: the JSON of `GET /jobs/{id}` and of each `GET /jobs`
//! item (also what an export lists).

use serde_json::{Map, Value, json};

use crate::domain::Job;

/// A job as the API shows it.
pub(crate) fn job_json(job: &Job) -> Value {
    let mut body = Map::new();
    body.insert("job_id".into(), json!(job.id));
    body.insert("kind".into(), json!(job.kind));
    body.insert("status".into(), json!(job.status));
    if let Some(result) = &job.result {
        body.insert("result".into(), result.clone());
    }
    if let Some(error) = &job.error {
        body.insert("error".into(), json!(error));
    }
    body.insert("attempts".into(), json!(job.attempts));
    body.insert("created_at".into(), json!(job.created_at));
    body.insert("updated_at".into(), json!(job.updated_at));
    Value::Object(body)
}
