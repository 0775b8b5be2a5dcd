//! The cart: what the session holds, and the rules for changing it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use skiff::app::SessionState;
use skiff::domain::JobId;

/// The session field the cart lives in.
pub const CART: SessionState<Cart> = SessionState::new("cart");

/// A stock-keeping unit: 1 to 40 of `A-Z`, `a-z`, `0-9`, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl TryFrom<String> for Sku {
    type Error = CartError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let ok = (1..=40).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(text))
        } else {
            Err(CartError::BadSku)
        }
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> Self {
        sku.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many of one SKU: 1 to 99.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u8")]
pub struct Qty(u8);

impl TryFrom<u64> for Qty {
    type Error = CartError;

    fn try_from(n: u64) -> Result<Self, Self::Error> {
        match u8::try_from(n) {
            Ok(n @ 1..=99) => Ok(Self(n)),
            _ => Err(CartError::BadQty),
        }
    }
}

impl From<Qty> for u8 {
    fn from(qty: Qty) -> Self {
        qty.0
    }
}

/// Why a cart change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CartError {
    /// Not a SKU.
    #[error("a sku is 1 to 40 characters of A-Z, a-z, 0-9, '-' and '_'")]
    BadSku,
    /// Not a quantity.
    #[error("qty must be an integer from 1 to 99")]
    BadQty,
    /// Too many lines.
    #[error("a cart holds at most {} different items", Cart::MAX_LINES)]
    Full,
}

/// The cart as the session keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    /// Quantity per SKU, in SKU order.
    #[serde(default)]
    pub items: BTreeMap<Sku, Qty>,
    /// The checkouts already taken out of this cart, newest last: a checkout job
    /// that runs again finds itself here and changes nothing.
    #[serde(default)]
    pub checked_out: Vec<JobId>,
}

impl Cart {
    /// The most different SKUs one cart holds.
    pub const MAX_LINES: usize = 50;
    /// How many checkouts the cart remembers: far more than can be in flight.
    const REMEMBERED_CHECKOUTS: usize = 16;

    /// Sets the quantity of `sku`.
    pub fn set(&mut self, sku: Sku, qty: Qty) -> Result<(), CartError> {
        if !self.items.contains_key(&sku) && self.items.len() >= Self::MAX_LINES {
            return Err(CartError::Full);
        }
        self.items.insert(sku, qty);
        Ok(())
    }

    /// Takes `sku` out; nothing happens if it is not in the cart.
    pub fn remove(&mut self, sku: &Sku) {
        self.items.remove(sku);
    }

    /// Takes what checkout `job` ordered out of the cart, once: whatever was
    /// added since stays. Returns whether this call changed the cart.
    pub fn take_checkout(&mut self, job: JobId, ordered: &BTreeMap<Sku, Qty>) -> bool {
        if self.checked_out.contains(&job) {
            return false;
        }
        for (sku, qty) in ordered {
            if let Some(held) = self.items.get(sku).copied() {
                match held.0.checked_sub(qty.0) {
                    Some(left @ 1..) => {
                        self.items.insert(sku.clone(), Qty(left));
                    }
                    _ => {
                        self.items.remove(sku);
                    }
                }
            }
        }
        self.checked_out.push(job);
        let excess = self
            .checked_out
            .len()
            .saturating_sub(Self::REMEMBERED_CHECKOUTS);
        self.checked_out.drain(..excess);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(text: &str) -> Sku {
        Sku::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn skus_and_quantities_are_parsed() {
        assert!(Sku::try_from("TEA-01_b".to_owned()).is_ok());
        for bad in ["", "a b", "é", &"x".repeat(41)] {
            assert_eq!(Sku::try_from(bad.to_owned()), Err(CartError::BadSku));
        }
        assert_eq!(Qty::try_from(0), Err(CartError::BadQty));
        assert_eq!(Qty::try_from(100), Err(CartError::BadQty));
        assert_eq!(Qty::try_from(99), Ok(Qty(99)));
    }

    #[test]
    fn a_checkout_is_taken_out_once_and_later_additions_stay() {
        let mut cart = Cart::default();
        cart.set(sku("tea"), Qty(3)).unwrap();
        let ordered = cart.items.clone();
        cart.set(sku("cup"), Qty(1)).unwrap();
        let job = JobId::new_time_ordered();
        assert!(cart.take_checkout(job, &ordered));
        assert!(!cart.take_checkout(job, &ordered));
        assert_eq!(cart.items.keys().collect::<Vec<_>>(), [&sku("cup")]);
    }

    #[test]
    fn a_full_cart_refuses_new_lines_but_not_changes() {
        let mut cart = Cart::default();
        for n in 0..Cart::MAX_LINES {
            cart.set(sku(&format!("s{n}")), Qty(1)).unwrap();
        }
        assert_eq!(cart.set(sku("one-more"), Qty(1)), Err(CartError::Full));
        assert!(cart.set(sku("s0"), Qty(2)).is_ok());
    }
}
