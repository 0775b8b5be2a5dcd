//! Typed access to the app's own records (see [`RecordStore`]).

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{
    Collection, Document, DocumentError, Record, RecordExpectation, RecordId, Timestamp, UserId,
    Version,
};
use crate::error::Error;
use crate::ports::{Clock, RecordStore, RecordWrite};

/// The app's records in the host's store; cheap to clone.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn RecordStore>,
    clock: Arc<dyn Clock>,
}

impl Records {
    /// Records in `store`, timed by `clock`.
    pub fn new(store: Arc<dyn RecordStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// One collection whose documents are `T`s.
    pub fn collection<T>(&self, collection: Collection) -> RecordCollection<T> {
        RecordCollection {
            records: self.clone(),
            collection,
            document: PhantomData,
        }
    }
}

/// One stored `T` with its id, version and times.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<T> {
    /// The record's id.
    pub id: RecordId,
    /// The document.
    pub value: T,
    /// Starts at 1; every write adds one.
    pub version: Version,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last written.
    pub updated_at: Timestamp,
}

/// One page of a listing, newest first; `next` is the cursor for the page after.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPage<T> {
    /// The records of this page.
    pub items: Vec<Stored<T>>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next: Option<RecordId>,
}

/// A collection of `T` documents per user.
///
/// ```
/// # async fn example(records: skiff::app::Records, owner: skiff::domain::UserId)
/// #     -> Result<(), skiff::Error> {
/// use serde::{Deserialize, Serialize};
/// use skiff::domain::{Collection, RecordId};
///
/// #[derive(Serialize, Deserialize)]
/// struct Note { text: String }
///
/// let notes = records.collection::<Note>(Collection::parse("notes").expect("a valid name"));
/// let id = RecordId::new_time_ordered();
/// notes.create(owner, id, &Note { text: "hello".into() }).await?;
/// let page = notes.list(owner, 20, None).await?;
/// assert_eq!(page.items[0].value.text, "hello");
/// # Ok(()) }
/// ```
pub struct RecordCollection<T> {
    records: Records,
    collection: Collection,
    document: PhantomData<fn() -> T>,
}

impl<T> Clone for RecordCollection<T> {
    fn clone(&self) -> Self {
        Self {
            records: self.records.clone(),
            collection: self.collection.clone(),
            document: PhantomData,
        }
    }
}

impl<T> RecordCollection<T>
where
    T: Serialize + DeserializeOwned,
{
    /// The most records one listing returns.
    pub const MAX_PAGE: usize = 100;

    /// Stores a new record; `None` when `id` is taken (the record is left as it
    /// was), which makes a create keyed by a job's id safe to repeat.
    pub async fn create(
        &self,
        owner: UserId,
        id: RecordId,
        value: &T,
    ) -> Result<Option<Stored<T>>, Error> {
        self.put(owner, id, value, RecordExpectation::Absent).await
    }

    /// The record, if `owner` has it.
    pub async fn get(&self, owner: UserId, id: RecordId) -> Result<Option<Stored<T>>, Error> {
        self.records
            .store
            .get_record(owner, &self.collection, id)
            .await?
            .map(Self::decode)
            .transpose()
    }

    /// Changes a record by a write conditional on the version read; a lost race
    /// re-reads and re-applies `change`. `None` when there is no such record.
    pub async fn update(
        &self,
        owner: UserId,
        id: RecordId,
        change: impl Fn(&mut T) -> Result<(), Error>,
    ) -> Result<Option<Stored<T>>, Error> {
        const MAX_ATTEMPTS: usize = 16;
        for _ in 0..MAX_ATTEMPTS {
            let Some(mut current) = self.get(owner, id).await? else {
                return Ok(None);
            };
            change(&mut current.value)?;
            let expect = RecordExpectation::At(current.version);
            if let Some(written) = self.put(owner, id, &current.value, expect).await? {
                return Ok(Some(written));
            }
        }
        Err(Error::Contention)
    }

    /// Newest first, at most `limit` (capped at [`MAX_PAGE`](Self::MAX_PAGE));
    /// with `before`, the records older than that one.
    pub async fn list(
        &self,
        owner: UserId,
        limit: usize,
        before: Option<RecordId>,
    ) -> Result<RecordPage<T>, Error> {
        let limit = limit.clamp(1, Self::MAX_PAGE);
        // One more than asked tells whether there is a next page.
        let mut records = self
            .records
            .store
            .list_records(owner, &self.collection, limit + 1, before)
            .await?;
        let more = records.len() > limit;
        records.truncate(limit);
        let items = records
            .into_iter()
            .map(Self::decode)
            .collect::<Result<Vec<_>, _>>()?;
        let next = more.then(|| items.last().map(|r| r.id)).flatten();
        Ok(RecordPage { items, next })
    }

    /// One conditional write; `None` when `expect` did not hold.
    async fn put(
        &self,
        owner: UserId,
        id: RecordId,
        value: &T,
        expect: RecordExpectation,
    ) -> Result<Option<Stored<T>>, Error> {
        let document = self.encode(value)?;
        let now = self.records.clock.now();
        match self
            .records
            .store
            .put_record(owner, &self.collection, id, &document, expect, now)
            .await?
        {
            RecordWrite::Written(record) => Self::decode(record).map(Some),
            RecordWrite::Conflict => Ok(None),
        }
    }

    fn encode(&self, value: &T) -> Result<Document, Error> {
        let json = serde_json::to_value(value)
            .map_err(|e| Error::internal(format!("encode record: {e}")))?;
        Document::parse(json).map_err(|e| match e {
            DocumentError::TooLarge { .. } => Error::PayloadTooLarge(e.to_string()),
            DocumentError::TooDeep(_) => Error::invalid(e),
        })
    }

    fn decode(record: Record) -> Result<Stored<T>, Error> {
        let value = T::deserialize(record.document.as_value())
            .map_err(|e| Error::internal(format!("decode record {}: {e}", record.id)))?;
        Ok(Stored {
            id: record.id,
            value,
            version: record.version,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }
}
