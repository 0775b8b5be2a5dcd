//! The sample events in `events/` (what `cargo lambda invoke --data-file` and the
//! docs use) hold what the consumers read.

use aws_lambda_events::event::sqs::SqsEvent;
use skiff::domain::Event;
use skiff::ports::JobMessage;
use skiff::workflow::StepMessage;

/// The SQS sample events (`cargo lambda invoke <fn> --data-file events/sqs/...`)
/// are real SQS events whose bodies are the consumer's messages, except the
/// records named `poison-*`, which show a partial batch failure.
#[test]
fn sqs_sample_events_carry_each_consumers_messages() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/sqs");
    type Parses = fn(&str) -> bool;
    let parses: [(&str, Parses); 3] = [
        ("worker", |b| serde_json::from_str::<JobMessage>(b).is_ok()),
        ("notifier", |b| serde_json::from_str::<Event>(b).is_ok()),
        ("workflow", |b| {
            serde_json::from_str::<StepMessage>(b).is_ok()
        }),
    ];
    for (function, parses) in parses {
        let mut files = 0;
        for entry in std::fs::read_dir(dir.join(function)).unwrap() {
            let path = entry.unwrap().path();
            let event: SqsEvent =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(!event.records.is_empty(), "{}", path.display());
            for record in &event.records {
                let id = record.message_id.as_deref().unwrap();
                let body = record.body.as_deref().unwrap();
                assert_eq!(
                    parses(body),
                    !id.starts_with("poison"),
                    "{}: {id}",
                    path.display()
                );
            }
            files += 1;
        }
        assert!(files > 0, "no sample event for {function}");
    }
}
