//! Cross-cutting HTTP concerns, applied once around the contract's routes.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::HttpSettings;
use super::cors;
use crate::error::Error;
use crate::telemetry::correlation::{self, Correlation, CorrelationId, TraceParent};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

pub(super) fn wrap(routes: Router, settings: HttpSettings) -> Router {
    routes
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        // Inside the request id and tracing, so preflights are logged and answered
        // with an id like every other request.
        .layer(axum::middleware::from_fn_with_state(
            settings.cors_origins,
            cors::cors,
        ))
        // Inside the request id, which it reads: everything the request sends on
        // carries its id (see `telemetry::correlation`).
        .layer(axum::middleware::from_fn(correlate))
        .layer(
            ServiceBuilder::new()
                .map_request(drop_unusable_request_id)
                // A caller-supplied x-request-id is kept so traces join up across services.
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                // Nothing is ever to be sniffed as another type.
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // Responses hold tokens, codes and private state unless a route says
                // otherwise (the discovery documents may be cached).
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(panic_response)),
        )
}

/// A client `X-Request-Id` that is empty, longer than 128 characters or not
/// printable ASCII is dropped, so the server makes its own: what reaches logs and
/// downstream messages is bounded and safe to print.
fn drop_unusable_request_id<B>(mut request: Request<B>) -> Request<B> {
    // The contract's rule (1..=128 printable ASCII) is the correlation id's.
    let usable = request.headers().get(&REQUEST_ID).is_some_and(|value| {
        value
            .to_str()
            .is_ok_and(|text| CorrelationId::parse(text).is_ok())
            && request.headers().get_all(&REQUEST_ID).iter().count() == 1
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The request's correlation: its request id (the caller's `X-Request-Id`, or
/// the one made for it) and its W3C `traceparent`, when it sent a valid one.
fn correlation_of<B>(request: &Request<B>) -> Option<Correlation> {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .and_then(|id| CorrelationId::parse(id).ok())?;
    let traceparent = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceParent::parse);
    Some(Correlation { id, traceparent })
}

/// Handles the request correlated by its id.
async fn correlate(request: Request<Body>, next: axum::middleware::Next) -> Response<Body> {
    let correlation = correlation_of(&request);
    correlation::scope_if(correlation, next.run(request)).await
}

/// Method, route and correlation only: headers and bodies (tokens, passwords,
/// session data) never reach the logs. The route is the matched pattern
/// (`/jobs/{job_id}`), so lines group by endpoint and no id in a path is logged;
/// a path no route matches is `unmatched`. `correlation_id` is the request id, the
/// key Powertools uses and the one the work the request causes logs.
fn request_span(request: &Request<Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", axum::extract::MatchedPath::as_str);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        correlation_id = tracing::field::Empty,
        traceparent = tracing::field::Empty,
    );
    if let Some(correlation) = correlation_of(request) {
        correlation.record_on(&span);
    }
    span
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    Error::internal(format!("handler panicked: {message}")).into_response()
}
