//! Azure Table storage entities as JSON documents: every entity is its keys plus
//! one `doc` property holding the serialized record (split over `doc`, `doc1`, …
//! when it outgrows a property's 64 KiB), read back with its ETag. Every
//! conditional write is `If-Match` on the ETag that was read, so the rules live in
//! code and work the same on Azure, Azurite and Cosmos DB for Table.

use std::sync::Arc;

use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, IF_MATCH};
use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::client::{Service, StorageClient, StorageResponse, service_error};
use crate::ports::StoreError;

/// Characters per `doc` property: a Table string property holds 64 KiB of UTF-16
/// (32 Ki code units); this leaves room for characters outside the BMP.
const CHUNK_CHARS: usize = 15 * 1024;
/// Read-modify-write attempts before giving up with a 503.
pub(crate) const MAX_OPTIMISTIC_ATTEMPTS: usize = 16;

/// An entity read back, with the ETag a conditional write must match.
pub(crate) struct Stored<T> {
    pub value: T,
    pub etag: String,
}

/// The outcome of a conditional write.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Write {
    Done,
    /// The entity exists already (insert), or changed or vanished since it was
    /// read (replace, delete with an ETag).
    Conflict,
}

/// One table. Cheap to clone.
#[derive(Clone)]
pub struct Table {
    client: StorageClient,
    name: Arc<str>,
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/json;odata=nometadata"),
    );
    headers.insert("DataServiceVersion", HeaderValue::from_static("3.0"));
    headers.insert(
        "MaxDataServiceVersion",
        HeaderValue::from_static("3.0;NetFx"),
    );
    headers
}

fn if_match(etag: &str, context: &'static str) -> Result<HeaderMap, StoreError> {
    let mut headers = json_headers();
    headers.insert(
        IF_MATCH,
        HeaderValue::from_str(etag).map_err(|e| StoreError::new(context, e))?,
    );
    Ok(headers)
}

/// Keys are built by this module's callers from ids, hex digests and fixed
/// prefixes only, so they need no escaping in the entity path or in a filter.
fn entity_path(table: &str, pk: &str, rk: &str) -> String {
    debug_assert!(
        [pk, rk].iter().all(|k| k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')),
        "table keys must be [A-Za-z0-9_-]"
    );
    format!("/{table}(PartitionKey='{pk}',RowKey='{rk}')")
}

fn encode<T: Serialize>(pk: &str, rk: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    let doc = serde_json::to_string(value).map_err(|e| StoreError::new("encode entity", e))?;
    let mut entity = Map::new();
    entity.insert("PartitionKey".into(), pk.into());
    entity.insert("RowKey".into(), rk.into());
    let chars: Vec<char> = doc.chars().collect();
    for (i, chunk) in chars.chunks(CHUNK_CHARS).enumerate() {
        let name = if i == 0 {
            "doc".to_owned()
        } else {
            format!("doc{i}")
        };
        entity.insert(name, Value::String(chunk.iter().collect()));
    }
    if chars.is_empty() {
        entity.insert("doc".into(), Value::String(String::new()));
    }
    serde_json::to_vec(&entity).map_err(|e| StoreError::new("encode entity", e))
}

fn decode<T: DeserializeOwned>(entity: &Map<String, Value>) -> Result<T, StoreError> {
    let mut doc = String::new();
    let mut i = 0;
    while let Some(Value::String(part)) = entity.get(&if i == 0 {
        "doc".to_owned()
    } else {
        format!("doc{i}")
    }) {
        doc.push_str(part);
        i += 1;
    }
    serde_json::from_str(&doc).map_err(|e| StoreError::new("decode entity", e))
}

/// The exclusive upper bound of every key starting with `prefix`.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    if let Some(last) = end.pop() {
        end.push(char::from_u32(u32::from(last) + 1).unwrap_or(char::MAX));
    }
    end
}

/// Maps a write's answer: success is done, the `conflicts` statuses are a
/// conflict, anything else an error.
fn outcome(
    response: &StorageResponse,
    conflicts: &[StatusCode],
    context: &'static str,
) -> Result<Write, StoreError> {
    if response.status.is_success() {
        Ok(Write::Done)
    } else if conflicts.contains(&response.status) {
        Ok(Write::Conflict)
    } else {
        Err(StoreError::new(context, service_error(response)))
    }
}

/// Headers of a request that carries an entity, conditional on `etag` if given.
fn body_headers(etag: Option<&str>, context: &'static str) -> Result<HeaderMap, StoreError> {
    let mut headers = match etag {
        Some(etag) => if_match(etag, context)?,
        None => json_headers(),
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("Prefer", HeaderValue::from_static("return-no-content"));
    Ok(headers)
}

impl Table {
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        context: &'static str,
    ) -> Result<StorageResponse, StoreError> {
        self.client
            .send(Service::Table, method, path, query, headers, body, context)
            .await
    }

    /// The table `name` of the account `client` reaches.
    pub fn new(client: StorageClient, name: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates the table unless it exists (deployment tooling and tests; a
    /// production app gets its table from infrastructure).
    pub async fn create_if_missing(&self) -> Result<(), StoreError> {
        let body = serde_json::to_vec(&serde_json::json!({ "TableName": &*self.name }))
            .map_err(|e| StoreError::new("create table", e))?;
        let headers = body_headers(None, "create table")?;
        let response = self
            .call(
                Method::POST,
                "/Tables",
                &[],
                headers,
                Some(body),
                "create table",
            )
            .await?;
        match response.status {
            s if s.is_success() || s == StatusCode::CONFLICT => Ok(()),
            _ => Err(StoreError::new("create table", service_error(&response))),
        }
    }

    /// Inserts an entity that must not exist yet.
    pub(crate) async fn insert<T: Serialize>(
        &self,
        pk: &str,
        rk: &str,
        value: &T,
        context: &'static str,
    ) -> Result<Write, StoreError> {
        let headers = body_headers(None, context)?;
        let path = format!("/{}", self.name);
        let response = self
            .call(
                Method::POST,
                &path,
                &[],
                headers,
                Some(encode(pk, rk, value)?),
                context,
            )
            .await?;
        outcome(&response, &[StatusCode::CONFLICT], context)
    }

    /// A strongly consistent point read (Table storage reads are always consistent).
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        pk: &str,
        rk: &str,
        context: &'static str,
    ) -> Result<Option<Stored<T>>, StoreError> {
        let response = self
            .call(
                Method::GET,
                &entity_path(&self.name, pk, rk),
                &[],
                json_headers(),
                None,
                context,
            )
            .await?;
        match response.status {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let etag = response
                    .header("etag")
                    .ok_or_else(|| StoreError::message("entity read without an ETag"))?
                    .to_owned();
                let entity: Map<String, Value> = response.json(context)?;
                Ok(Some(Stored {
                    value: decode(&entity)?,
                    etag,
                }))
            }
            _ => Err(StoreError::new(context, service_error(&response))),
        }
    }

    /// Replaces the entity if it still has `etag`.
    pub(crate) async fn replace<T: Serialize>(
        &self,
        pk: &str,
        rk: &str,
        value: &T,
        etag: &str,
        context: &'static str,
    ) -> Result<Write, StoreError> {
        let headers = body_headers(Some(etag), context)?;
        let response = self
            .call(
                Method::PUT,
                &entity_path(&self.name, pk, rk),
                &[],
                headers,
                Some(encode(pk, rk, value)?),
                context,
            )
            .await?;
        outcome(
            &response,
            &[StatusCode::PRECONDITION_FAILED, StatusCode::NOT_FOUND],
            context,
        )
    }

    /// Deletes the entity: if it still has `etag`, or whatever it holds when `etag`
    /// is `None` (a missing entity is then already done).
    pub(crate) async fn delete(
        &self,
        pk: &str,
        rk: &str,
        etag: Option<&str>,
        context: &'static str,
    ) -> Result<Write, StoreError> {
        let response = self
            .call(
                Method::DELETE,
                &entity_path(&self.name, pk, rk),
                &[],
                if_match(etag.unwrap_or("*"), context)?,
                None,
                context,
            )
            .await?;
        match response.status {
            s if s.is_success() => Ok(Write::Done),
            StatusCode::NOT_FOUND if etag.is_none() => Ok(Write::Done),
            StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND => Ok(Write::Conflict),
            _ => Err(StoreError::new(context, service_error(&response))),
        }
    }

    /// The entities of partition `pk` whose row key starts with `prefix` and is
    /// greater than `after` (when given), in row-key order, at most `limit`.
    pub(crate) async fn query<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        after: Option<&str>,
        limit: Option<usize>,
        context: &'static str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let lower = match after {
            Some(after) => format!("RowKey gt '{after}'"),
            None => format!("RowKey ge '{prefix}'"),
        };
        let filter = format!(
            "PartitionKey eq '{pk}' and {lower} and RowKey lt '{}'",
            prefix_end(prefix)
        );
        let path = format!("/{}()", self.name);
        let mut found = Vec::new();
        let mut next: Option<(String, String)> = None;
        loop {
            let mut query = vec![("$filter", filter.clone())];
            if let Some(limit) = limit {
                let remaining = limit.saturating_sub(found.len()).clamp(1, 1000);
                query.push(("$top", remaining.to_string()));
            }
            if let Some((next_pk, next_rk)) = next.take() {
                query.push(("NextPartitionKey", next_pk));
                query.push(("NextRowKey", next_rk));
            }
            let response = self
                .call(Method::GET, &path, &query, json_headers(), None, context)
                .await?;
            if !response.status.is_success() {
                return Err(StoreError::new(context, service_error(&response)));
            }
            let continuation = |name| response.header(name).map(str::to_owned);
            let next_keys = continuation("x-ms-continuation-NextPartitionKey")
                .zip(continuation("x-ms-continuation-NextRowKey"));
            #[derive(serde::Deserialize)]
            struct Page {
                value: Vec<Map<String, Value>>,
            }
            let page: Page = response.json(context)?;
            for entity in &page.value {
                let rk = entity
                    .get("RowKey")
                    .and_then(Value::as_str)
                    .ok_or_else(|| StoreError::message("entity without a RowKey"))?
                    .to_owned();
                found.push((rk, decode(entity)?));
            }
            let enough = limit.is_some_and(|l| found.len() >= l);
            match next_keys {
                Some(keys) if !enough => next = Some(keys),
                _ => break,
            }
        }
        if let Some(limit) = limit {
            found.truncate(limit);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_documents_are_split_over_properties_and_joined_back() {
        let text = "é".repeat(CHUNK_CHARS * 2 + 10);
        let body = encode("p", "r", &text).unwrap();
        let entity: Map<String, Value> = serde_json::from_slice(&body).unwrap();
        assert!(entity.contains_key("doc2") && !entity.contains_key("doc3"));
        assert!(
            entity
                .values()
                .filter_map(Value::as_str)
                .all(|s| s.encode_utf16().count() <= 32 * 1024)
        );
        assert_eq!(decode::<String>(&entity).unwrap(), text);
    }

    #[test]
    fn a_prefix_range_ends_just_past_the_prefix() {
        assert_eq!(prefix_end("job_"), "job`");
    }
}
