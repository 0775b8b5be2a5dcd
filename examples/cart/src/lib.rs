//! The classic stateful shopping cart, made stateless on Skiff's public API only.
//!
//! - The cart is typed session state: it lives in the caller's session, so it
//!   ends with the session and is versioned with it (`ETag`, `If-Match`, 412).
//! - Checkout is a job: it turns the cart into an order record and takes the
//!   ordered items out of the cart, exactly once however often it runs.
//! - Orders are app records, erased with the account.
//! - A subscriber turns a finished checkout into an `order.placed` notification.
//! - A web page (`GET /`, no framework, no build step) uses all of it from a
//!   browser, with the refresh token in an HttpOnly cookie.
//!
//! [`app`] is the whole app; the binaries in `src/bin` run it on each host.

mod cart;
mod checkout;
mod order_placed;
mod orders;
mod page;
mod routes;

pub use cart::{Cart, CartError, Qty, Sku};
pub use checkout::{CHECKOUT, Checkout};
pub use order_placed::OrderPlaced;
pub use orders::{Order, orders};

use skiff::app::App;

/// Skiff's contract plus the cart's routes, its `checkout` job and its
/// `order.placed` subscriber, and its web page.
pub fn app() -> App {
    App::new()
        .routes(routes::router)
        .routes(|_| page::router())
        .job(CHECKOUT, Checkout)
        .subscriber(OrderPlaced)
}
