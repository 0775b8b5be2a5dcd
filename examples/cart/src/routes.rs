//! The cart's HTTP routes. JSON is made here; the cart and the jobs stay typed.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use skiff::Error;
use skiff::app::{AppContext, Caller, IfMatch, JsonBody, Stored, Versioned};
use skiff::auth::Authenticated;
use skiff::domain::{IdempotencyKey, RecordId, Timestamp};
use skiff::jobs::{SubmitJob, SubmittedJob};

use crate::cart::{CART, Cart, CartError, Qty, Sku};
use crate::checkout::{CHECKOUT, CheckoutInput};
use crate::orders::{Order, orders};

/// `/cart`, `/cart/items/{sku}`, `/cart/checkout` and `/orders`.
pub(crate) fn router(context: &AppContext) -> Router {
    Router::new()
        .route("/cart", get(show_cart))
        .route("/cart/items/{sku}", put(set_item).delete(remove_item))
        .route("/cart/checkout", post(checkout))
        .route("/orders", get(list_orders))
        .with_state(context.clone())
}

#[derive(Serialize)]
struct Line<'a> {
    sku: &'a Sku,
    qty: Qty,
}

#[derive(Serialize)]
struct CartBody<'a> {
    items: Vec<Line<'a>>,
    version: u64,
}

fn lines(items: &std::collections::BTreeMap<Sku, Qty>) -> Vec<Line<'_>> {
    items
        .iter()
        .map(|(sku, qty)| Line { sku, qty: *qty })
        .collect()
}

fn cart_response(cart: &Versioned<Cart>) -> Result<Response, Error> {
    let etag = HeaderValue::from_str(&cart.etag())
        .map_err(|e| Error::internal(format!("etag header: {e}")))?;
    let body = CartBody {
        items: lines(&cart.value.items),
        version: cart.version.get(),
    };
    Ok(([(header::ETAG, etag)], Json(body)).into_response())
}

fn invalid(e: CartError) -> Error {
    match e {
        CartError::BadSku | CartError::BadQty => Error::invalid(e),
        CartError::Full => Error::Conflict("the cart is full"),
    }
}

fn sku(text: String) -> Result<Sku, Error> {
    Sku::try_from(text).map_err(invalid)
}

async fn show_cart(Caller(caller): Caller) -> Result<Response, Error> {
    // Authentication already read the session: the cart costs no second read.
    cart_response(&CART.read(&caller.session)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetQty {
    qty: serde_json::Value,
}

async fn set_item(
    State(app): State<AppContext>,
    Caller(caller): Caller,
    IfMatch(precondition): IfMatch,
    Path(text): Path<String>,
    JsonBody(body): JsonBody<SetQty>,
) -> Result<Response, Error> {
    let sku = sku(text)?;
    let qty = body
        .qty
        .as_u64()
        .ok_or(CartError::BadQty)
        .and_then(Qty::try_from)
        .map_err(invalid)?;
    let (cart, ()) = CART
        .update(app.sessions(), &caller, &precondition, |cart| {
            cart.set(sku.clone(), qty).map_err(invalid)
        })
        .await?;
    cart_response(&cart)
}

async fn remove_item(
    State(app): State<AppContext>,
    Caller(caller): Caller,
    IfMatch(precondition): IfMatch,
    Path(text): Path<String>,
) -> Result<Response, Error> {
    let sku = sku(text)?;
    let (cart, ()) = CART
        .update(app.sessions(), &caller, &precondition, |cart| {
            cart.remove(&sku);
            Ok(())
        })
        .await?;
    cart_response(&cart)
}

async fn checkout(
    State(app): State<AppContext>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            IdempotencyKey::parse(value.to_str().unwrap_or_default()).map_err(Error::invalid)
        })
        .transpose()?;
    // Keyed on the request, not on the cart: the job empties the cart, so a retry
    // that read it again would find nothing to check out and be refused.
    let job = match key {
        Some(key) => {
            app.jobs()
                .submit_once(caller.user_id, "cart-checkout", &key, || {
                    submit_checkout(&app, &caller)
                })
                .await?
        }
        None => submit_checkout(&app, &caller).await?,
    };
    let location = HeaderValue::from_str(&format!("/jobs/{}", job.job_id))
        .map_err(|e| Error::internal(format!("location header: {e}")))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(serde_json::json!({ "job_id": job.job_id })),
    )
        .into_response())
}

/// A checkout job of the cart as it is now; refused if the cart is empty.
async fn submit_checkout(app: &AppContext, caller: &Authenticated) -> Result<SubmittedJob, Error> {
    let cart = CART.read(&caller.session)?;
    if cart.value.items.is_empty() {
        return Err(Error::Conflict("the cart is empty"));
    }
    let input = CheckoutInput {
        session_id: caller.session_id,
        items: cart.value.items,
    };
    let request = SubmitJob {
        kind: CHECKOUT.into(),
        input: serde_json::to_value(&input)
            .map_err(|e| Error::internal(format!("encode checkout: {e}")))?,
    };
    app.jobs().submit(caller.user_id, request, None).await
}

#[derive(Deserialize)]
struct OrdersQuery {
    cursor: Option<String>,
}

#[derive(Serialize)]
struct OrderBody<'a> {
    order_id: RecordId,
    items: Vec<Line<'a>>,
    created_at: Timestamp,
}

#[derive(Serialize)]
struct OrdersBody<'a> {
    items: Vec<OrderBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<RecordId>,
}

fn order_body(order: &Stored<Order>) -> OrderBody<'_> {
    OrderBody {
        order_id: order.id,
        items: lines(&order.value.items),
        created_at: order.created_at,
    }
}

/// The most orders one page shows.
const ORDERS_PAGE: usize = 20;

async fn list_orders(
    State(app): State<AppContext>,
    Caller(caller): Caller,
    Query(query): Query<OrdersQuery>,
) -> Result<Json<serde_json::Value>, Error> {
    let before = query
        .cursor
        .map(|text| {
            text.parse::<RecordId>()
                .map_err(|_| Error::invalid("cursor is not one this API returned"))
        })
        .transpose()?;
    let page = orders(app.records())
        .list(caller.user_id, ORDERS_PAGE, before)
        .await?;
    let body = OrdersBody {
        items: page.items.iter().map(order_body).collect(),
        next_cursor: page.next,
    };
    serde_json::to_value(&body)
        .map(Json)
        .map_err(|e| Error::internal(format!("encode orders: {e}")))
}
