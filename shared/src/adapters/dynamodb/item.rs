//! Small, typed accessors for DynamoDB items: a missing or malformed attribute is a
//! `StoreError` naming it, never a panic.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{PARTITION_KEY, SORT_KEY};
use crate::domain::Timestamp;
use crate::ports::StoreError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn time(value: Timestamp) -> AttributeValue {
    n(value.unix_millis())
}

/// The primary key of an item.
pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(pk)),
        (SORT_KEY.to_owned(), s(sk)),
    ])
}

fn malformed(name: &str) -> StoreError {
    StoreError::new(
        "decode dynamodb item",
        format!("attribute {name} is missing or malformed"),
    )
}

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(malformed(name)),
    }
}

pub(super) fn get_parsed<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    let text = match item.get(name) {
        Some(AttributeValue::S(v) | AttributeValue::N(v)) => v,
        _ => return Err(malformed(name)),
    };
    text.parse().map_err(|_| malformed(name))
}

pub(super) fn get_time(item: &Item, name: &str) -> Result<Timestamp, StoreError> {
    get_parsed(item, name).map(Timestamp::from_unix_millis)
}

pub(super) fn get_opt_time(item: &Item, name: &str) -> Result<Option<Timestamp>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => get_time(item, name).map(Some),
    }
}

pub(super) fn get_bool(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        Some(AttributeValue::Bool(value)) => Ok(*value),
        _ => Err(malformed(name)),
    }
}
