use async_trait::async_trait;
use serde_json::{Value, json};

use super::{JobContext, JobError, JobHandler};
use crate::domain::{Email, Job};
use crate::ports::{Login, StoreError};

/// `export`: the caller's account as data: the user without any password hash,
/// the sessions without any token, and the jobs (this one excluded: it is not
/// finished yet). Earlier exports are listed without their results: each holds
/// the one before it, so including them would double the size with every export.
pub struct Export;

/// At most this many jobs are exported, newest first.
const MAX_JOBS: usize = 1000;

fn retryable(e: StoreError) -> JobError {
    JobError::Retryable(format!("backend unavailable: {e}"))
}

#[async_trait]
impl JobHandler for Export {
    async fn run(&self, context: &JobContext, job: &Job) -> Result<Value, JobError> {
        let stores = &context.stores;
        let user = stores
            .users
            .find_by_id(job.user_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| JobError::Permanent("the account no longer exists".into()))?;
        let mut sessions = Vec::new();
        for id in stores
            .sessions
            .list_for_user(user.id)
            .await
            .map_err(retryable)?
        {
            if let Some(s) = stores.sessions.get(id).await.map_err(retryable)? {
                sessions.push(json!({
                    "session_id": s.id,
                    "data": s.data.as_map(),
                    "version": s.version.get(),
                    "created_at": s.created_at,
                    "last_extended_at": s.last_extended_at,
                    "revoked": s.revoked,
                }));
            }
        }
        let jobs: Vec<Value> = stores
            .jobs
            .list(user.id, MAX_JOBS, None)
            .await
            .map_err(retryable)?
            .iter()
            .filter(|j| j.id != job.id)
            .map(|j| {
                let mut shown = crate::api::job_json(j);
                if j.kind == job.kind
                    && let Some(fields) = shown.as_object_mut()
                {
                    fields.remove("result");
                }
                shown
            })
            .collect();
        let mut account = json!({
            "user_id": user.id,
            "created_at": user.created_at,
        });
        match &user.login {
            Login::Password { email, .. } => account["email"] = json!(email.as_str()),
            Login::Federated { identity, email } => {
                account["email"] = json!(email.as_ref().map(Email::as_str));
                account["issuer"] = json!(identity.issuer());
                account["subject"] = json!(identity.subject());
            }
        }
        Ok(json!({
            "user": account,
            "sessions": sessions,
            "jobs": jobs,
        }))
    }
}
