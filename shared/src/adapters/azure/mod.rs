//! Azure Storage for the Azure Functions host: Table storage for every store port
//! (works with Cosmos DB for Table too) and Storage Queues for jobs, events and the
//! deletion workflow's steps, through a small SharedKey/SAS REST client.

mod account;
mod client;
mod queue;
mod store;
mod table;

#[cfg(test)]
pub(crate) mod test_support;

pub use account::{ConnectionStringError, Credential, StorageAccount};
pub(crate) use client::{HttpsClient, https_client};
pub use client::{ServiceError, StorageClient};
pub use queue::{MAX_VISIBILITY, QueueMessage, StorageQueue};
pub use store::TableStore;
pub use table::Table;
