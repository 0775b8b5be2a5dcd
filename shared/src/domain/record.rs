//! An app's own persistent documents: per user, per collection, versioned.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{JobId, Timestamp, UserId, Version};

/// A collection of an app's records (`orders`, `invoices`): 1 to 32 characters of
/// `a-z`, `0-9` and `-`, starting with a letter. The stores put the name into keys
/// next to a separator (`#` on DynamoDB, `_` on Azure Table), which this alphabet
/// never contains, so one collection's prefix never matches another's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Collection(String);

/// Why a collection name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a collection name is 1 to 32 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct BadCollection;

impl Collection {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 32;

    /// Parses a name; see the type's rules.
    pub fn parse(name: &str) -> Result<Self, BadCollection> {
        let mut chars = name.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if starts_with_letter && rest_ok && name.len() <= Self::MAX_LEN {
            Ok(Self(name.to_owned()))
        } else {
            Err(BadCollection)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Collection {
    type Err = BadCollection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for Collection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Identifies a record within its owner's collection. Always a UUIDv7 (time
/// first), so ids sort by creation and every store lists newest first by id alone,
/// with the last id seen as the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

/// Why a record id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a record id is a time-ordered UUID (version 7)")]
pub struct BadRecordId;

impl RecordId {
    /// A new id, newer than every id made before it in this process' clock.
    pub fn new_time_ordered() -> Self {
        Self(Uuid::now_v7())
    }

    /// The id of the record a job produced: one job, one record, however often the
    /// job's message is redelivered.
    pub fn for_job(job: JobId) -> Self {
        Self(job.as_uuid())
    }

    fn from_uuid(uuid: Uuid) -> Result<Self, BadRecordId> {
        if uuid.get_version_num() == 7 {
            Ok(Self(uuid))
        } else {
            Err(BadRecordId)
        }
    }

    /// The id as a UUID.
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for RecordId {
    type Err = BadRecordId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map_err(|_| BadRecordId)
            .and_then(Self::from_uuid)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A record's JSON document: at most 64 KiB serialised (what every store can hold
/// in one item) and nested no deeper than the HTTP bodies are allowed to be.
#[derive(Clone, Debug, PartialEq)]
pub struct Document(Value);

/// Why a document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    /// Over the size limit.
    #[error("the record is {size} bytes serialised; the limit is {limit} bytes")]
    TooLarge {
        /// The serialised size.
        size: usize,
        /// [`Document::MAX_SERIALIZED_BYTES`].
        limit: usize,
    },
    /// Nested too deeply for the stores to read back.
    #[error("the record is nested more than {0} levels deep")]
    TooDeep(usize),
}

impl Document {
    /// The largest serialised document accepted.
    pub const MAX_SERIALIZED_BYTES: usize = 64 * 1024;

    /// Checks the limits.
    pub fn parse(value: Value) -> Result<Self, DocumentError> {
        let size = serde_json::to_vec(&value)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if size > Self::MAX_SERIALIZED_BYTES {
            return Err(DocumentError::TooLarge {
                size,
                limit: Self::MAX_SERIALIZED_BYTES,
            });
        }
        let max = crate::api::MAX_JSON_DEPTH;
        if crate::api::depth(&value) > max {
            return Err(DocumentError::TooDeep(max));
        }
        Ok(Self(value))
    }

    /// The JSON value.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The JSON value, owned.
    pub fn into_value(self) -> Value {
        self.0
    }
}

/// One stored record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Whose record it is: only they can read it, and deleting the account erases it.
    pub owner: UserId,
    /// The collection it belongs to.
    pub collection: Collection,
    /// Its id within the owner's collection.
    pub id: RecordId,
    /// What the app stored.
    pub document: Document,
    /// Starts at [`Version::INITIAL`]; every write adds one.
    pub version: Version,
    /// When it was first written.
    pub created_at: Timestamp,
    /// When it was last written.
    pub updated_at: Timestamp,
}

/// The write a store is asked for: a new record, or a change of the version read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordExpectation {
    /// The record must not exist yet.
    Absent,
    /// The record must still be at this version.
    At(Version),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_short_lowercase_names() {
        assert!(Collection::parse("orders").is_ok());
        assert!(Collection::parse("line-items2").is_ok());
        for bad in ["", "Orders", "2nd", "a_b", "a#b", "a/b", &"x".repeat(33)] {
            assert_eq!(Collection::parse(bad), Err(BadCollection), "{bad:?}");
        }
    }

    #[test]
    fn record_ids_must_be_time_ordered() {
        let id = RecordId::new_time_ordered();
        assert_eq!(id.to_string().parse::<RecordId>(), Ok(id));
        assert!(Uuid::new_v4().to_string().parse::<RecordId>().is_err());
        assert!("nope".parse::<RecordId>().is_err());
        let job = JobId::new_time_ordered();
        assert_eq!(RecordId::for_job(job).to_string(), job.to_string());
    }

    #[test]
    fn documents_have_limits() {
        assert!(Document::parse(serde_json::json!({"a": 1})).is_ok());
        let big = Value::String("x".repeat(Document::MAX_SERIALIZED_BYTES));
        assert!(matches!(
            Document::parse(big),
            Err(DocumentError::TooLarge { .. })
        ));
        let deep: Value =
            serde_json::from_str(&format!("{}{}", "[".repeat(33), "]".repeat(33))).unwrap();
        assert_eq!(Document::parse(deep), Err(DocumentError::TooDeep(32)));
    }
}
