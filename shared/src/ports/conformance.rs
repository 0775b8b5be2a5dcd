//! The behaviour every backend must show, written once and run against each adapter
//! (SQLite, DynamoDB, and the ones to come). Ids, emails and keys are random, so
//! tests may share one database.

use std::time::Duration;

use serde_json::json;

use super::{
    CreateUserError, Login, RefreshTokenRecord, RefreshTokenStore, RotateOutcome, SessionStore,
    SessionWrite, ThrottleStore, User, UserStore, throttles,
};
use crate::domain::{
    Admission, ClientAddress, Email, FederatedIdentity, LoginThrottlePolicy, RefreshToken, Session,
    SessionData, SessionId, Settlement, ThrottleKey, ThrottleLimit, Timestamp, UserId, Version,
};

/// Where the suite's clock starts: 2100-01-01. Test times are in the future so that
/// a store that expires entries natively (Redis's `PEXPIREAT`) keeps what a test has
/// just written instead of dropping it at once as long past.
const EPOCH_MILLIS: i64 = 4_102_444_800_000;

/// `millis` after the suite's epoch.
pub(crate) fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(EPOCH_MILLIS + millis)
}

fn data(value: serde_json::Value) -> SessionData {
    SessionData::parse(value).unwrap()
}

/// A session of a user that exists: sessions are only created for live users.
pub(crate) async fn new_session(store: &impl UserStore) -> Session {
    let owner = user(&unique_email());
    store.create(&owner).await.unwrap();
    Session::start(SessionId::new_random(), owner.id, at(1_000))
}

pub(crate) fn unique_email() -> String {
    format!("{}@example.com", uuid::Uuid::new_v4().simple())
}

pub(crate) fn user(email: &str) -> User {
    User {
        id: UserId::new_random(),
        login: Login::Password {
            email: Email::parse(email).unwrap(),
            password_hash: "$argon2id$fake".into(),
        },
        created_at: at(1_000),
        deleting: false,
    }
}

/// A federated account at a test issuer, with a verified email.
pub(crate) fn federated_user(issuer: &str, subject: &str, email: Option<&str>) -> User {
    User {
        id: UserId::new_random(),
        login: Login::Federated {
            identity: FederatedIdentity::new(issuer, subject).unwrap(),
            email: email.map(|e| Email::parse(e).unwrap()),
        },
        created_at: at(1_000),
        deleting: false,
    }
}

pub(crate) async fn emails_are_unique_and_users_found_both_ways(store: &impl UserStore) {
    let email = unique_email();
    let alice = user(&email);
    store.create(&alice).await.unwrap();
    assert!(matches!(
        store.create(&user(&email.to_uppercase())).await,
        Err(CreateUserError::EmailTaken)
    ));
    let alice_email = alice.password_email().unwrap();
    let by_email = store.find_by_email(alice_email).await.unwrap().unwrap();
    assert_eq!(
        (by_email.id, by_email.created_at),
        (alice.id, alice.created_at)
    );
    assert_eq!(by_email.password_hash(), alice.password_hash());
    assert_eq!(
        store
            .find_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .password_email(),
        Some(alice_email)
    );
    assert!(
        store
            .find_by_id(UserId::new_random())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_by_email(&Email::parse(&unique_email()).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) async fn sessions_round_trip_and_write_only_on_their_version(
    store: &(impl SessionStore + UserStore),
) {
    let session = new_session(store).await;
    SessionStore::create(store, &session).await.unwrap();
    assert_eq!(store.get(session.id).await.unwrap(), Some(session.clone()));
    assert_eq!(store.get(SessionId::new_random()).await.unwrap(), None);

    let now = at(5_000);
    let SessionWrite::Written(v2) = store
        .write_data(
            session.id,
            Version::INITIAL,
            &data(json!({"a": {"b": [1, 2]}})),
            now,
        )
        .await
        .unwrap()
    else {
        panic!("the first write must succeed");
    };
    assert_eq!((v2.version, v2.last_extended_at), (Version::new(2), now));
    assert_eq!(v2.data, data(json!({"a": {"b": [1, 2]}})));
    assert_eq!(store.get(session.id).await.unwrap(), Some(v2));
    let stale = store
        .write_data(session.id, Version::INITIAL, &data(json!({"b": 2})), now)
        .await;
    assert!(matches!(stale.unwrap(), SessionWrite::Conflict));
    let missing = store
        .write_data(
            SessionId::new_random(),
            Version::INITIAL,
            &data(json!({})),
            now,
        )
        .await;
    assert!(matches!(missing.unwrap(), SessionWrite::Conflict));
    assert_eq!(
        store.get(session.id).await.unwrap().unwrap().data,
        data(json!({"a": {"b": [1, 2]}}))
    );
}

pub(crate) async fn revocation_blocks_writes_and_extension_only_moves_forward(
    store: &(impl SessionStore + UserStore),
) {
    let session = new_session(store).await;
    SessionStore::create(store, &session).await.unwrap();
    store.extend(session.id, at(9_000)).await.unwrap();
    store.extend(session.id, at(3_000)).await.unwrap();
    store
        .extend(SessionId::new_random(), at(3_000))
        .await
        .unwrap();
    let stored = store.get(session.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.last_extended_at, stored.version),
        (at(9_000), Version::INITIAL)
    );

    store.revoke(session.id).await.unwrap();
    store.revoke(session.id).await.unwrap();
    store.revoke(SessionId::new_random()).await.unwrap();
    assert!(store.get(session.id).await.unwrap().unwrap().revoked);
    let write = store
        .write_data(session.id, Version::INITIAL, &data(json!({})), at(10_000))
        .await;
    assert!(matches!(write.unwrap(), SessionWrite::Conflict));
}

pub(crate) async fn concurrent_writers_on_one_version_have_one_winner<S>(store: S)
where
    S: SessionStore + UserStore + Clone + 'static,
{
    let session = new_session(&store).await;
    SessionStore::create(&store, &session).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_data(
                        session.id,
                        Version::INITIAL,
                        &data(json!({ "writer": i })),
                        at(2_000),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(matches!(task.await.unwrap(), SessionWrite::Written(_)));
    }
    assert_eq!(winners, 1);
    assert_eq!(
        store.get(session.id).await.unwrap().unwrap().version,
        Version::new(2)
    );
}

fn token_record() -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: RefreshToken::generate().hash(),
        session_id: SessionId::new_random(),
        user_id: UserId::new_random(),
        issued_at: at(1_000),
        spent_at: None,
    }
}

fn successor(of: &RefreshTokenRecord) -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: RefreshToken::generate().hash(),
        ..of.clone()
    }
}

pub(crate) async fn rotation_spends_a_token_exactly_once(store: &impl RefreshTokenStore) {
    let first = token_record();
    store.insert(&first).await.unwrap();
    assert_eq!(store.find(&first.hash).await.unwrap(), Some(first.clone()));

    let second = successor(&first);
    let now = at(2_000);
    assert_eq!(
        store.rotate(&first.hash, &second, now).await.unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(
        store.find(&first.hash).await.unwrap().unwrap().spent_at,
        Some(now)
    );
    assert_eq!(store.find(&second.hash).await.unwrap(), Some(second));

    let third = successor(&first);
    assert_eq!(
        store.rotate(&first.hash, &third, now).await.unwrap(),
        RotateOutcome::AlreadySpent
    );
    assert_eq!(
        store.find(&third.hash).await.unwrap(),
        None,
        "a lost race inserts nothing"
    );

    let unknown = RefreshToken::generate().hash();
    let orphan = successor(&first);
    assert_eq!(
        store.rotate(&unknown, &orphan, now).await.unwrap(),
        RotateOutcome::AlreadySpent
    );
    assert_eq!(store.find(&orphan.hash).await.unwrap(), None);
}

pub(crate) async fn concurrent_rotations_have_one_winner<S>(store: S)
where
    S: RefreshTokenStore + Clone + 'static,
{
    let first = token_record();
    store.insert(&first).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let old = first.hash.clone();
            let next = successor(&first);
            tokio::spawn(async move { store.rotate(&old, &next, at(3_000)).await.unwrap() })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        rotated += usize::from(task.await.unwrap() == RotateOutcome::Rotated);
    }
    assert_eq!(rotated, 1);
}

const LIMIT: ThrottleLimit = ThrottleLimit {
    max_failures: 3,
    window: Duration::from_secs(60),
    lock_for: Duration::from_secs(30),
};
pub(crate) const THROTTLES: LoginThrottlePolicy = LoginThrottlePolicy {
    client_account: LIMIT,
    client: LIMIT,
    account: LIMIT,
    in_flight_timeout: Duration::from_secs(10),
};

fn pair_key() -> ThrottleKey {
    let [pair, _, _] = ThrottleKey::for_login(&unique_email(), ClientAddress::Unknown);
    pair
}

/// Admits, refuses while slots are in flight, locks on settled failures only, and
/// starts over once the lock has passed. A 3000-character login is a key like any.
pub(crate) async fn throttles_lock_on_failures_and_not_on_attempts_in_flight(
    store: &impl ThrottleStore,
) {
    let key = pair_key();
    let now = at(10_000);
    for _ in 0..LIMIT.max_failures {
        assert_eq!(
            throttles::admit(store, &key, now, &THROTTLES)
                .await
                .unwrap(),
            Admission::Admitted
        );
    }
    assert_eq!(
        throttles::admit(store, &key, now, &THROTTLES)
            .await
            .unwrap(),
        Admission::Busy
    );
    // One succeeds, one is released: their slots come back, no failure counted.
    throttles::settle(store, &key, Settlement::Succeeded, now, &THROTTLES)
        .await
        .unwrap();
    throttles::settle(store, &key, Settlement::Released, now, &THROTTLES)
        .await
        .unwrap();
    throttles::settle(store, &key, Settlement::Failed, now, &THROTTLES)
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            throttles::admit(store, &key, now, &THROTTLES)
                .await
                .unwrap(),
            Admission::Admitted
        );
        throttles::settle(store, &key, Settlement::Failed, now, &THROTTLES)
            .await
            .unwrap();
    }
    assert_eq!(
        throttles::admit(store, &key, now, &THROTTLES)
            .await
            .unwrap(),
        Admission::Locked {
            retry_after: LIMIT.lock_for
        }
    );
    let later = now.saturating_add(LIMIT.lock_for);
    assert_eq!(
        throttles::admit(store, &key, later, &THROTTLES)
            .await
            .unwrap(),
        Admission::Admitted
    );

    let [long, _, _] = ThrottleKey::for_login(&"x".repeat(3000), ClientAddress::Unknown);
    assert_eq!(
        throttles::admit(store, &long, now, &THROTTLES)
            .await
            .unwrap(),
        Admission::Admitted
    );
    throttles::settle(store, &long, Settlement::Released, now, &THROTTLES)
        .await
        .unwrap();
}

pub(crate) async fn concurrent_attempts_never_exceed_the_limit<S>(store: S)
where
    S: ThrottleStore + Clone + 'static,
{
    let key = pair_key();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                throttles::admit(&store, &key, at(1_000), &THROTTLES)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += u32::from(task.await.unwrap() == Admission::Admitted);
    }
    assert_eq!(admitted, LIMIT.max_failures);
    // Concurrent settlements are each applied once: three failures lock.
    let tasks: Vec<_> = (0..LIMIT.max_failures)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                throttles::settle(&store, &key, Settlement::Failed, at(1_000), &THROTTLES)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(matches!(
        throttles::admit(&store, &key, at(1_001), &THROTTLES)
            .await
            .unwrap(),
        Admission::Locked { .. }
    ));
}

/// A weaker hash is replaced only while it is still the stored one.
pub(crate) async fn password_hashes_are_replaced_only_from_the_expected_one(
    store: &impl UserStore,
) {
    let owner = user(&unique_email());
    store.create(&owner).await.unwrap();
    assert!(
        !store
            .replace_password_hash(owner.id, "not the stored hash", "$argon2id$new")
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_password_hash(owner.id, owner.password_hash().unwrap(), "$argon2id$new")
            .await
            .unwrap()
    );
    for found in [
        store.find_by_id(owner.id).await.unwrap(),
        store
            .find_by_email(owner.password_email().unwrap())
            .await
            .unwrap(),
    ] {
        assert_eq!(found.unwrap().password_hash(), Some("$argon2id$new"));
    }
    assert!(
        !store
            .replace_password_hash(UserId::new_random(), "x", "y")
            .await
            .unwrap()
    );
}

/// A federated account is found by its (`iss`, `sub`) pair only: the same subject
/// at another issuer is another identity, its verified email never finds it (nor
/// blocks a password account with that email), a second create of the pair is
/// refused, and deleting the account frees the pair.
pub(crate) async fn federated_identities_are_unique_and_separate_from_emails(
    store: &impl UserStore,
) {
    let subject = uuid::Uuid::new_v4().to_string();
    let email = unique_email();
    let issuer = "https://issuer.example/pool-a";
    let fed = federated_user(issuer, &subject, Some(&email));
    store.create(&fed).await.unwrap();
    assert!(matches!(
        store.create(&federated_user(issuer, &subject, None)).await,
        Err(CreateUserError::IdentityTaken)
    ));
    let identity = fed.identity().unwrap();
    for found in [
        store.find_by_identity(identity).await.unwrap().unwrap(),
        store.find_by_id(fed.id).await.unwrap().unwrap(),
    ] {
        assert_eq!(found.id, fed.id);
        assert_eq!(found.identity(), Some(identity));
        assert!(found.password_hash().is_none());
        match &found.login {
            Login::Federated { email: kept, .. } => {
                assert_eq!(kept.as_ref().map(Email::as_str), Some(email.as_str()))
            }
            Login::Password { .. } => panic!("a federated account came back with a password"),
        }
    }
    let elsewhere = FederatedIdentity::new("https://issuer.example/pool-b", &subject).unwrap();
    assert!(store.find_by_identity(&elsewhere).await.unwrap().is_none());
    let parsed = Email::parse(&email).unwrap();
    assert!(store.find_by_email(&parsed).await.unwrap().is_none());
    let password_account = user(&email);
    store.create(&password_account).await.unwrap();
    assert_eq!(
        store.find_by_email(&parsed).await.unwrap().unwrap().id,
        password_account.id
    );
    assert!(
        !store
            .replace_password_hash(fed.id, "$argon2id$fake", "$argon2id$new")
            .await
            .unwrap()
    );

    store.begin_deletion(fed.id).await.unwrap();
    assert!(
        store
            .find_by_identity(identity)
            .await
            .unwrap()
            .unwrap()
            .deleting
    );
    store.delete(fed.id).await.unwrap();
    assert!(store.find_by_identity(identity).await.unwrap().is_none());
    let again = federated_user(issuer, &subject, None);
    store.create(&again).await.unwrap();
    assert_eq!(
        store.find_by_identity(identity).await.unwrap().unwrap().id,
        again.id
    );
}

/// Runs the whole suite against one backend: `conformance_tests!(make_store().await)`.
macro_rules! conformance_tests {
    ($store:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            use crate::ports::conformance as suite;
            use crate::ports::conformance_records as records;
            use crate::ports::conformance_work as work;

            #[tokio::test]
            async fn emails_are_unique_and_users_found_both_ways() {
                suite::emails_are_unique_and_users_found_both_ways(&$store).await;
            }
            #[tokio::test]
            async fn federated_identities_are_unique_and_separate_from_emails() {
                suite::federated_identities_are_unique_and_separate_from_emails(&$store).await;
            }
            #[tokio::test]
            async fn sessions_round_trip_and_write_only_on_their_version() {
                suite::sessions_round_trip_and_write_only_on_their_version(&$store).await;
            }
            #[tokio::test]
            async fn revocation_blocks_writes_and_extension_only_moves_forward() {
                suite::revocation_blocks_writes_and_extension_only_moves_forward(&$store).await;
            }
            #[tokio::test]
            async fn concurrent_writers_on_one_version_have_one_winner() {
                suite::concurrent_writers_on_one_version_have_one_winner($store).await;
            }
            #[tokio::test]
            async fn rotation_spends_a_token_exactly_once() {
                suite::rotation_spends_a_token_exactly_once(&$store).await;
            }
            #[tokio::test]
            async fn concurrent_rotations_have_one_winner() {
                suite::concurrent_rotations_have_one_winner($store).await;
            }
            #[tokio::test]
            async fn throttles_lock_on_failures_and_not_on_attempts_in_flight() {
                suite::throttles_lock_on_failures_and_not_on_attempts_in_flight(&$store).await;
            }
            #[tokio::test]
            async fn password_hashes_are_replaced_only_from_the_expected_one() {
                suite::password_hashes_are_replaced_only_from_the_expected_one(&$store).await;
            }
            #[tokio::test]
            async fn concurrent_attempts_never_exceed_the_limit() {
                suite::concurrent_attempts_never_exceed_the_limit($store).await;
            }
            #[tokio::test]
            async fn sessions_are_created_only_for_live_users() {
                work::sessions_are_created_only_for_live_users(&$store).await;
            }
            #[tokio::test]
            async fn deleting_a_user_frees_the_email() {
                work::deleting_a_user_frees_the_email(&$store).await;
            }
            #[tokio::test]
            async fn jobs_move_only_from_the_state_they_were_read_in() {
                work::jobs_move_only_from_the_state_they_were_read_in(&$store).await;
            }
            #[tokio::test]
            async fn jobs_list_newest_first_in_pages() {
                work::jobs_list_newest_first_in_pages(&$store).await;
            }
            #[tokio::test]
            async fn idempotency_keys_are_claimed_once() {
                work::idempotency_keys_are_claimed_once(&$store).await;
            }
            #[tokio::test]
            async fn notifications_are_added_once_newest_first() {
                work::notifications_are_added_once_newest_first(&$store).await;
            }
            #[tokio::test]
            async fn deletions_move_only_from_the_given_states() {
                work::deletions_move_only_from_the_given_states(&$store).await;
            }
            #[tokio::test]
            async fn one_deletion_per_user_awaits_confirmation() {
                work::one_deletion_per_user_awaits_confirmation($store).await;
            }
            #[tokio::test]
            async fn wrong_codes_are_counted_and_the_last_expires() {
                work::wrong_codes_are_counted_and_the_last_expires(&$store).await;
            }
            #[tokio::test]
            async fn records_are_created_once_and_updated_on_their_version() {
                records::records_are_created_once_and_updated_on_their_version(&$store).await;
            }
            #[tokio::test]
            async fn concurrent_record_writers_have_one_winner() {
                records::concurrent_record_writers_have_one_winner($store).await;
            }
            #[tokio::test]
            async fn records_list_newest_first_in_pages_and_go_with_the_user() {
                records::records_list_newest_first_in_pages_and_go_with_the_user(&$store).await;
            }
        }
    };
}
pub(crate) use conformance_tests;
