//! Conformance for the app-records port: run against every backend by
//! `conformance_tests!`.

use std::sync::Arc;

use serde_json::json;

use super::{RecordStore, RecordWrite};
use crate::domain::{
    Collection, Document, Record, RecordExpectation, RecordId, Timestamp, UserId, Version,
};

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

fn doc(value: serde_json::Value) -> Document {
    Document::parse(value).unwrap()
}

fn written(write: RecordWrite) -> Record {
    match write {
        RecordWrite::Written(record) => record,
        RecordWrite::Conflict => panic!("expected the write to succeed"),
    }
}

pub(crate) async fn records_are_created_once_and_updated_on_their_version<S: RecordStore>(
    store: &S,
) {
    let (owner, orders) = (UserId::new_random(), Collection::parse("orders").unwrap());
    let id = RecordId::new_time_ordered();
    let absent = RecordExpectation::Absent;
    let first = written(
        store
            .put_record(owner, &orders, id, &doc(json!({"n": 1})), absent, at(1_000))
            .await
            .unwrap(),
    );
    assert_eq!(
        (first.version, first.created_at, first.updated_at),
        (Version::INITIAL, at(1_000), at(1_000))
    );
    assert_eq!(
        store.get_record(owner, &orders, id).await.unwrap(),
        Some(first.clone())
    );
    // A second create of the same id loses, and keeps the first document.
    let again = store
        .put_record(owner, &orders, id, &doc(json!({"n": 9})), absent, at(2_000))
        .await
        .unwrap();
    assert_eq!(again, RecordWrite::Conflict);

    let at_one = RecordExpectation::At(Version::INITIAL);
    let second = written(
        store
            .put_record(owner, &orders, id, &doc(json!({"n": 2})), at_one, at(3_000))
            .await
            .unwrap(),
    );
    assert_eq!(
        (second.version, second.created_at, second.updated_at),
        (Version::new(2), at(1_000), at(3_000))
    );
    assert_eq!(second.document.as_value(), &json!({"n": 2}));
    // A writer still holding version 1 loses.
    let stale = store
        .put_record(owner, &orders, id, &doc(json!({"n": 3})), at_one, at(4_000))
        .await
        .unwrap();
    assert_eq!(stale, RecordWrite::Conflict);
    // An update of a record that does not exist is a conflict, not a create.
    let missing = store
        .put_record(
            owner,
            &orders,
            RecordId::new_time_ordered(),
            &doc(json!({})),
            at_one,
            at(5_000),
        )
        .await
        .unwrap();
    assert_eq!(missing, RecordWrite::Conflict);
    // Another owner, or another collection, does not see it.
    let carts = Collection::parse("orders-archive").unwrap();
    assert_eq!(store.get_record(owner, &carts, id).await.unwrap(), None);
    assert_eq!(
        store
            .get_record(UserId::new_random(), &orders, id)
            .await
            .unwrap(),
        None
    );
}

pub(crate) async fn concurrent_record_writers_have_one_winner<S>(store: S)
where
    S: RecordStore + 'static,
{
    let store = Arc::new(store);
    let (owner, orders) = (UserId::new_random(), Collection::parse("orders").unwrap());
    let id = RecordId::new_time_ordered();
    store
        .put_record(
            owner,
            &orders,
            id,
            &doc(json!({})),
            RecordExpectation::Absent,
            at(1),
        )
        .await
        .unwrap();
    let writers = (0..8).map(|n| {
        let (store, orders) = (store.clone(), orders.clone());
        tokio::spawn(async move {
            store
                .put_record(
                    owner,
                    &orders,
                    id,
                    &doc(json!({ "writer": n })),
                    RecordExpectation::At(Version::INITIAL),
                    at(2),
                )
                .await
                .unwrap()
        })
    });
    let mut winners = 0;
    for writer in writers {
        if matches!(writer.await.unwrap(), RecordWrite::Written(_)) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

pub(crate) async fn records_list_newest_first_in_pages_and_go_with_the_user<S: RecordStore>(
    store: &S,
) {
    let owner = UserId::new_random();
    let (orders, notes) = (
        Collection::parse("orders").unwrap(),
        Collection::parse("notes").unwrap(),
    );
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = RecordId::new_time_ordered();
        ids.push(id);
        store
            .put_record(
                owner,
                &orders,
                id,
                &doc(json!({ "n": n })),
                RecordExpectation::Absent,
                at(n),
            )
            .await
            .unwrap();
        // UUIDv7 orders within a millisecond by its random part: a pause keeps
        // the expected order certain.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let note = RecordId::new_time_ordered();
    store
        .put_record(
            owner,
            &notes,
            note,
            &doc(json!("a note")),
            RecordExpectation::Absent,
            at(9),
        )
        .await
        .unwrap();
    let newest_first: Vec<RecordId> = ids.iter().rev().copied().collect();
    let page = store.list_records(owner, &orders, 2, None).await.unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        newest_first[..2]
    );
    let rest = store
        .list_records(owner, &orders, 10, Some(page[1].id))
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|r| r.id).collect::<Vec<_>>(),
        newest_first[2..]
    );
    let listed_notes = store.list_records(owner, &notes, 10, None).await.unwrap();
    assert_eq!(listed_notes.len(), 1);
    assert_eq!(listed_notes[0].document.as_value(), &json!("a note"));

    store.delete_records_of_user(owner).await.unwrap();
    store.delete_records_of_user(owner).await.unwrap();
    assert!(
        store
            .list_records(owner, &orders, 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_record(owner, &notes, note).await.unwrap(), None);
}
