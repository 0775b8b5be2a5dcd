//! Conformance for the ports behind jobs, idempotency, notifications and account
//! deletion: run against every backend by `conformance_tests!`.

use std::time::Duration;

use serde_json::json;

use super::conformance::{at, new_session, unique_email, user};
use super::{
    Claim, CreateDeletionError, CreateSessionError, DeletionStore, IdempotencyRecord,
    IdempotencyStore, JobStore, NotificationStore, RefreshTokenRecord, RefreshTokenStore,
    SessionStore, UserStore,
};
use crate::domain::{
    Deletion, DeletionId, DeletionStatus, Event, EventDetail, Job, JobId, JobInput, JobKind,
    Notification, RefreshToken, Session, SessionId, UserId,
};

fn echo_job(user: UserId) -> Job {
    Job::queued(
        user,
        JobKind::parse("echo").unwrap(),
        JobInput::parse(json!({"n": 1})).unwrap(),
        at(1_000),
    )
}

pub(crate) async fn sessions_are_created_only_for_live_users<S>(store: &S)
where
    S: SessionStore + UserStore + RefreshTokenStore,
{
    let orphan = Session::start(SessionId::new_random(), UserId::new_random(), at(1));
    assert!(matches!(
        SessionStore::create(store, &orphan).await,
        Err(CreateSessionError::UserUnavailable)
    ));

    let first = new_session(store).await;
    SessionStore::create(store, &first).await.unwrap();
    let owner = first.user_id;
    let second = Session::start(SessionId::new_random(), owner, at(2));
    SessionStore::create(store, &second).await.unwrap();
    let mut listed = store.list_for_user(owner).await.unwrap();
    listed.sort_by_key(ToString::to_string);
    let mut expected = vec![first.id, second.id];
    expected.sort_by_key(ToString::to_string);
    assert_eq!(listed, expected);

    store.begin_deletion(owner).await.unwrap();
    assert!(store.find_by_id(owner).await.unwrap().unwrap().deleting);
    let late = Session::start(SessionId::new_random(), owner, at(3));
    assert!(matches!(
        SessionStore::create(store, &late).await,
        Err(CreateSessionError::UserUnavailable)
    ));
    // Refused means never active: absent, or written and already revoked.
    for refused in [&orphan, &late] {
        let stored = store.get(refused.id).await.unwrap();
        assert!(
            stored.is_none_or(|s| s.revoked),
            "a refused session is usable"
        );
    }

    let token = RefreshTokenRecord {
        hash: RefreshToken::generate().hash(),
        session_id: first.id,
        user_id: owner,
        issued_at: at(1),
        spent_at: None,
    };
    store.insert(&token).await.unwrap();
    RefreshTokenStore::delete_for_user(store, owner)
        .await
        .unwrap();
    SessionStore::delete_for_user(store, owner).await.unwrap();
    assert!(store.list_for_user(owner).await.unwrap().is_empty());
    assert!(store.get(first.id).await.unwrap().is_none());
    assert!(store.find(&token.hash).await.unwrap().is_none());
}

pub(crate) async fn deleting_a_user_frees_the_email<S: UserStore>(store: &S) {
    let alice = user(&unique_email());
    store.create(&alice).await.unwrap();
    store.delete(alice.id).await.unwrap();
    store.delete(alice.id).await.unwrap();
    assert!(store.find_by_id(alice.id).await.unwrap().is_none());
    let email = alice.password_email().unwrap();
    assert!(store.find_by_email(email).await.unwrap().is_none());
    store.create(&user(email.as_str())).await.unwrap();
}

pub(crate) async fn jobs_move_only_from_the_state_they_were_read_in<S: JobStore>(store: &S) {
    let owner = UserId::new_random();
    let job = echo_job(owner);
    store.create(&job).await.unwrap();
    assert_eq!(store.get(owner, job.id).await.unwrap(), Some(job.clone()));
    assert!(
        store
            .get(UserId::new_random(), job.id)
            .await
            .unwrap()
            .is_none()
    );

    let running = job.start_attempt(at(2_000)).unwrap();
    assert!(store.transition(&job, &running).await.unwrap());
    // A second worker that read the queued job loses.
    assert!(!store.transition(&job, &running).await.unwrap());
    let done = running.succeed(json!({"ok": true}), at(3_000)).unwrap();
    assert!(store.transition(&running, &done).await.unwrap());
    assert!(!store.transition(&running, &done).await.unwrap());
    assert_eq!(store.get(owner, job.id).await.unwrap(), Some(done));
}

pub(crate) async fn jobs_list_newest_first_in_pages<S: JobStore>(store: &S) {
    let owner = UserId::new_random();
    let mut ids: Vec<JobId> = Vec::new();
    for _ in 0..5 {
        let job = echo_job(owner);
        store.create(&job).await.unwrap();
        ids.push(job.id);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    store.create(&echo_job(UserId::new_random())).await.unwrap();
    ids.reverse();
    let page = store.list(owner, 3, None).await.unwrap();
    assert_eq!(page.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..3]);
    let rest = store.list(owner, 3, Some(ids[2])).await.unwrap();
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), ids[3..]);
    store.delete_for_user(owner).await.unwrap();
    assert!(store.list(owner, 10, None).await.unwrap().is_empty());
}

fn claim_record(key: &str, fingerprint: &str, now: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        response: None,
        locked_until: at(now + 1_000),
        expires_at: at(now + 60_000),
    }
}

pub(crate) async fn idempotency_keys_are_claimed_once<S: IdempotencyStore>(store: &S) {
    let key = format!("test:{}", uuid::Uuid::new_v4());
    let first = claim_record(&key, "f1", 0);
    assert!(matches!(
        store.claim(&first, at(0)).await.unwrap(),
        Claim::Acquired
    ));
    match store.claim(&first, at(10)).await.unwrap() {
        Claim::Existing(existing) => {
            assert_eq!(existing.fingerprint, "f1");
            assert_eq!(existing.response, None);
        }
        Claim::Acquired => panic!("a held key was claimed twice"),
    }
    // The holder died: its lock lapses and another request takes over.
    assert!(matches!(
        store
            .claim(&claim_record(&key, "f1", 2_000), at(2_000))
            .await
            .unwrap(),
        Claim::Acquired
    ));
    store.complete(&key, &json!({"job_id": "x"})).await.unwrap();
    match store
        .claim(&claim_record(&key, "f2", 3_000), at(3_000))
        .await
        .unwrap()
    {
        Claim::Existing(existing) => {
            assert_eq!(existing.response, Some(json!({"job_id": "x"})));
            assert_eq!(existing.fingerprint, "f1");
        }
        Claim::Acquired => panic!("a completed key was claimed again"),
    }
    // After expiry the key is free again.
    assert!(matches!(
        store
            .claim(&claim_record(&key, "f2", 70_000), at(70_000))
            .await
            .unwrap(),
        Claim::Acquired
    ));
    store.release(&key).await.unwrap();
    assert!(matches!(
        store
            .claim(&claim_record(&key, "f3", 70_001), at(70_001))
            .await
            .unwrap(),
        Claim::Acquired
    ));
}

pub(crate) async fn notifications_are_added_once_newest_first<S: NotificationStore>(store: &S) {
    let owner = UserId::new_random();
    let older = Event::new(
        owner,
        at(1_000),
        EventDetail::JobSucceeded {
            job_id: JobId::new_time_ordered(),
        },
    );
    let newer = Event::new(
        owner,
        at(2_000),
        EventDetail::JobFailed {
            job_id: JobId::new_time_ordered(),
            error: "boom".into(),
        },
    );
    for event in [&older, &newer, &older] {
        store
            .add(&Notification::from_event(event.clone()))
            .await
            .unwrap();
    }
    let listed = store.list(owner, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|n| n.event.clone()).collect::<Vec<_>>(),
        [newer, older]
    );
    assert!(
        store
            .list(UserId::new_random(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.delete_for_user(owner).await.unwrap();
    assert!(store.list(owner, 10).await.unwrap().is_empty());
}

pub(crate) async fn deletions_move_only_from_the_given_states<S: DeletionStore>(store: &S) {
    let owner = UserId::new_random();
    let (deletion, code) = Deletion::request(owner, at(0), Duration::from_secs(60));
    store.create(&deletion, at(0)).await.unwrap();
    assert_eq!(
        store.get(owner, deletion.id).await.unwrap(),
        Some(deletion.clone())
    );
    assert!(
        store
            .get(UserId::new_random(), deletion.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get(owner, DeletionId::new_random())
            .await
            .unwrap()
            .is_none()
    );

    store
        .set_task_token(owner, deletion.id, "token-1")
        .await
        .unwrap();
    let awaiting = [DeletionStatus::AwaitingConfirmation];
    assert!(
        store
            .transition(owner, deletion.id, &awaiting, DeletionStatus::InProgress)
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition(owner, deletion.id, &awaiting, DeletionStatus::Expired)
            .await
            .unwrap()
    );
    let stored = store.get(owner, deletion.id).await.unwrap().unwrap();
    assert_eq!(stored.status, DeletionStatus::InProgress);
    assert_eq!(stored.task_token.as_deref(), Some("token-1"));
    assert_eq!(stored.code_hash, deletion.code_hash);
    assert!(stored.code_hash.matches(deletion.id, code.expose()));
}

/// Two requests at once: one wins. A new one is accepted once the pending one
/// has left `awaiting_confirmation` or passed its window.
pub(crate) async fn one_deletion_per_user_awaits_confirmation<S>(store: S)
where
    S: DeletionStore + Clone + 'static,
{
    let owner = UserId::new_random();
    let window = Duration::from_secs(60);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let (deletion, _) = Deletion::request(owner, at(0), window);
                store.create(&deletion, at(0)).await.map(|()| deletion)
            })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(deletion) => won.push(deletion),
            Err(CreateDeletionError::AlreadyPending) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won.len(), 1, "concurrent requests for one user");
    let first = &won[0];
    let (second, _) = Deletion::request(owner, at(1), window);
    assert!(matches!(
        store.create(&second, at(1)).await,
        Err(CreateDeletionError::AlreadyPending)
    ));
    // Another user is not affected.
    let (other, _) = Deletion::request(UserId::new_random(), at(1), window);
    store.create(&other, at(1)).await.unwrap();
    // Expired: a new request may start.
    assert!(
        store
            .transition(
                owner,
                first.id,
                &[DeletionStatus::AwaitingConfirmation],
                DeletionStatus::Expired
            )
            .await
            .unwrap()
    );
    store.create(&second, at(2)).await.unwrap();
    // Past its window, a pending request no longer blocks either.
    let late = at(1).saturating_add(window);
    let (third, _) = Deletion::request(owner, late, window);
    store.create(&third, late).await.unwrap();
}

pub(crate) async fn wrong_codes_are_counted_and_the_last_expires(store: &impl DeletionStore) {
    let owner = UserId::new_random();
    let (deletion, _) = Deletion::request(owner, at(0), Duration::from_secs(60));
    store.create(&deletion, at(0)).await.unwrap();
    for tries in 1..5 {
        store
            .record_wrong_code(owner, deletion.id, 5)
            .await
            .unwrap();
        let stored = store.get(owner, deletion.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.wrong_codes, stored.status),
            (tries, DeletionStatus::AwaitingConfirmation)
        );
    }
    store
        .record_wrong_code(owner, deletion.id, 5)
        .await
        .unwrap();
    let stored = store.get(owner, deletion.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.wrong_codes, stored.status),
        (5, DeletionStatus::Expired)
    );
    // Nothing more is counted once it has ended.
    store
        .record_wrong_code(owner, deletion.id, 5)
        .await
        .unwrap();
    assert_eq!(
        store
            .get(owner, deletion.id)
            .await
            .unwrap()
            .unwrap()
            .wrong_codes,
        5
    );
}
