//! The Step Functions definition (infra/deletion-workflow.asl.json) and the Rust
//! step registry describe one workflow; these tests fail when they drift apart.

use serde_json::Value;

use skiff::workflow::{DeletionStep, StepRunner};

const ASL: &str = include_str!("../../infra/deletion-workflow.asl.json");
const SQS_WITH_TOKEN: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

fn states() -> serde_json::Map<String, Value> {
    let definition: Value = serde_json::from_str(ASL).expect("the ASL file is JSON");
    definition["States"].as_object().cloned().expect("States")
}

fn wire_name(step: DeletionStep) -> String {
    serde_json::to_value(step)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn every_step_is_a_state_run_the_way_the_registry_says() {
    let states = states();
    for step in DeletionStep::ALL {
        let state = states
            .get(step.state_name())
            .unwrap_or_else(|| panic!("no state {} in the ASL", step.state_name()));
        assert_eq!(state["Type"], "Task", "{}", step.state_name());
        let resource = state["Resource"].as_str().unwrap();
        match step.runner() {
            StepRunner::Code => {
                assert_eq!(resource, SQS_WITH_TOKEN, "{} runs code", step.state_name());
                assert_eq!(
                    state["Parameters"]["MessageBody"]["step"],
                    wire_name(step),
                    "{} dispatches the wrong step",
                    step.state_name()
                );
                assert_eq!(
                    state["Parameters"]["MessageBody"]["task_token.$"],
                    "$$.Task.Token"
                );
            }
            StepRunner::Service => assert_ne!(resource, SQS_WITH_TOKEN, "{}", step.state_name()),
        }
    }
}

#[test]
fn the_states_follow_the_registry_order() {
    let states = states();
    let start: Value = serde_json::from_str::<Value>(ASL).unwrap()["StartAt"].clone();
    assert_eq!(start, DeletionStep::AwaitConfirmation.state_name());
    for step in DeletionStep::ALL {
        let state = &states[step.state_name()];
        match step.next() {
            Some(next) => assert_eq!(state["Next"], next.state_name(), "after {step:?}"),
            None if step == DeletionStep::PublishDeleted => assert_eq!(state["End"], true),
            None => assert_ne!(state["Next"], Value::Null, "{step:?} must end somewhere"),
        }
    }
}

#[test]
fn every_task_retries_and_catches_and_the_wait_times_out_to_expiry() {
    let states = states();
    let tasks: Vec<&String> = states
        .iter()
        .filter(|(_, s)| s["Type"] == "Task")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        tasks.len(),
        DeletionStep::ALL.len(),
        "every task state is a registered step: {tasks:?}"
    );
    for name in tasks {
        let state = &states[name];
        assert!(
            state["Retry"].as_array().is_some_and(|r| !r.is_empty()),
            "{name} has no Retry"
        );
        assert!(
            state["Catch"].as_array().is_some_and(|c| !c.is_empty()),
            "{name} has no Catch"
        );
    }
    let wait = &states[DeletionStep::AwaitConfirmation.state_name()];
    assert_eq!(wait["TimeoutSecondsPath"], "$.timeout_seconds");
    assert!(
        wait["Catch"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["Next"] == DeletionStep::MarkExpired.state_name()),
        "a timed-out confirmation must lead to MarkExpired"
    );
}
