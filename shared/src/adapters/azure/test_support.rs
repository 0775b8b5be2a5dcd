//! Adapter tests run against Azurite, which `tests/run` starts on free loopback
//! ports and names in `SKIFF_TEST_AZURE_STORAGE` (a connection string).

use std::sync::OnceLock;

use super::{StorageAccount, StorageClient, StorageQueue, Table, TableStore};

pub(crate) fn client() -> StorageClient {
    let connection = std::env::var("SKIFF_TEST_AZURE_STORAGE").unwrap_or_else(|_| {
        panic!("SKIFF_TEST_AZURE_STORAGE is unset: run the tests with `make test`, which starts Azurite")
    });
    StorageClient::new(StorageAccount::parse(&connection).expect("connection string"))
        .expect("storage client")
}

fn table_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("skiff{}", uuid::Uuid::new_v4().simple()))
}

/// A store on this test process's table. Each test gets its own client because
/// each `#[tokio::test]` has its own runtime.
pub(crate) async fn store() -> TableStore {
    let table = Table::new(client(), table_name());
    table.create_if_missing().await.expect("create table");
    TableStore::new(table)
}

/// A fresh queue with a unique name.
pub(crate) async fn queue() -> StorageQueue {
    let queue = StorageQueue::new(client(), format!("q-{}", uuid::Uuid::new_v4().simple()));
    queue.create_if_missing().await.expect("create queue");
    queue
}

#[tokio::test]
async fn azurite_refuses_a_request_signed_with_another_key() {
    let connection = std::env::var("SKIFF_TEST_AZURE_STORAGE").expect("SKIFF_TEST_AZURE_STORAGE");
    let mut account = StorageAccount::parse(&connection).expect("connection string");
    account.credential = super::Credential::SharedKey(b"not the account key".to_vec());
    let forged = Table::new(StorageClient::new(account).expect("client"), table_name());
    let err = forged.create_if_missing().await.unwrap_err();
    assert!(format!("{err:?}").contains("403"), "{err:?}");
    // The same request, signed with the account key, goes through.
    Table::new(client(), table_name())
        .create_if_missing()
        .await
        .unwrap();
}
