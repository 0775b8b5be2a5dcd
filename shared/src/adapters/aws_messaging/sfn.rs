use async_trait::async_trait;
use aws_sdk_sfn::error::SdkError;
use aws_sdk_sfn::operation::send_task_success::SendTaskSuccessError;
use serde_json::json;

use super::LazyClient;
use crate::domain::Deletion;
use crate::ports::{DeletionWorkflow, Proceed, StoreError};

/// The deletion workflow as a Step Functions state machine
/// (infra/deletion-workflow.asl.json). One execution per deletion, named after it,
/// so a retried start cannot run the workflow twice.
#[derive(Clone)]
pub struct SfnDeletionWorkflow {
    tasks: SfnTasks,
    state_machine_arn: String,
}

impl SfnDeletionWorkflow {
    /// Starts executions of `state_machine_arn`.
    pub fn new(
        client: impl Into<LazyClient<aws_sdk_sfn::Client>>,
        state_machine_arn: impl Into<String>,
    ) -> Self {
        Self {
            tasks: SfnTasks::new(client),
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl DeletionWorkflow for SfnDeletionWorkflow {
    async fn start(&self, deletion: &Deletion) -> Result<(), StoreError> {
        // Step Functions timeouts are whole seconds; round up so the window is never short.
        let window = deletion.created_at.until(deletion.expires_at);
        let timeout_seconds = window.as_secs() + u64::from(window.subsec_nanos() > 0);
        // The state machine hands the correlation on to the confirmation step's message.
        let input = crate::telemetry::correlation::stamp(&json!({
            "deletion_id": deletion.id,
            "user_id": deletion.user_id,
            "timeout_seconds": timeout_seconds.max(1),
        }))
        .map_err(|e| StoreError::new("encode workflow input", e))?;
        let result = self
            .tasks
            .client
            .get()
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(deletion.id.to_string())
            .input(input)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Started by an earlier attempt of this same call.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_already_exists()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::new("start deletion workflow", e)),
        }
    }

    fn needs_task_token(&self) -> bool {
        true
    }

    async fn proceed(&self, deletion: &Deletion) -> Result<Proceed, StoreError> {
        let token = deletion.task_token.as_deref().ok_or_else(|| {
            StoreError::message("the deletion workflow has not reached its confirmation step yet")
        })?;
        match self.tasks.succeed(token).await {
            Ok(()) => Ok(Proceed::Started),
            Err(e) if is_too_late(&e) => Ok(Proceed::TooLate),
            Err(e) => Err(StoreError::new("confirm deletion workflow", e)),
        }
    }
}

fn is_too_late(e: &SdkError<SendTaskSuccessError>) -> bool {
    e.as_service_error().is_some_and(|se| {
        se.is_task_timed_out() || se.is_task_does_not_exist() || se.is_invalid_token()
    })
}

/// Completes the workflow's waiting tasks: the confirmation, and each code step the
/// workflow function ran.
#[derive(Clone)]
pub struct SfnTasks {
    client: LazyClient<aws_sdk_sfn::Client>,
}

impl SfnTasks {
    /// The error name a failed code step reports; the state machine retries it.
    pub const STEP_FAILED: &'static str = "Skiff.StepFailed";

    /// Reports task outcomes with `client`.
    pub fn new(client: impl Into<LazyClient<aws_sdk_sfn::Client>>) -> Self {
        Self {
            client: client.into(),
        }
    }

    /// Reports a task's success. The output is the current correlation: for the
    /// confirmation step the state machine keeps it (`$.confirmation`) and hands it
    /// to the erasing steps, which the confirming request caused; other steps
    /// discard their output.
    pub async fn succeed(&self, token: &str) -> Result<(), SdkError<SendTaskSuccessError>> {
        // An empty object always encodes; "{}" keeps the report going if it ever did not.
        let output = crate::telemetry::correlation::stamp(&serde_json::Map::new())
            .unwrap_or_else(|_| "{}".to_owned());
        self.client
            .get()
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
            .map(drop)
    }

    /// Reports a failed step. The cause is a short description, never user data.
    pub async fn fail(&self, token: &str, cause: &str) -> Result<(), StoreError> {
        self.client
            .get()
            .send_task_failure()
            .task_token(token)
            .error(Self::STEP_FAILED)
            .cause(cause)
            .send()
            .await
            .map(drop)
            .map_err(|e| StoreError::new("report failed step", e))
    }
}
