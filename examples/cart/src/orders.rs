//! Orders: app records in the `orders` collection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skiff::app::{RecordCollection, Records};
use skiff::domain::Collection;

use crate::cart::{Qty, Sku};

/// What an order record holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// What was ordered, per SKU.
    pub items: BTreeMap<Sku, Qty>,
}

/// The collection's name; the test below shows it parses.
const ORDERS: &str = "orders";

/// The callers' orders.
pub fn orders(records: &Records) -> RecordCollection<Order> {
    // A literal name, checked by `the_collection_name_is_valid`.
    let name = Collection::parse(ORDERS).expect("a valid collection name");
    records.collection(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_collection_name_is_valid() {
        assert!(skiff::domain::Collection::parse(super::ORDERS).is_ok());
    }
}
