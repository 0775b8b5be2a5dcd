//! HTTP functions with `enableForwardingHttpRequest`: the request is matched
//! against the HTTP functions' routes, then forwarded to the handler at its
//! original path, and the answer returned as it is. No match is the host's own
//! plain 404. As the Functions front end does, the client's address (with its
//! port) is appended to `X-Forwarded-For`.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::FunctionApp;

/// Azure Functions accepts HTTP bodies up to 100 MB; the emulator needs far less.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Forwarder {
    pub app: FunctionApp,
    pub handler: String,
    pub client: reqwest::Client,
}

fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "host" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

pub async fn forward(
    State(forwarder): State<Arc<Forwarder>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let Some(function) = forwarder.app.http_function(parts.method.as_str(), path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !forwarder.app.forwarding {
        return (
            StatusCode::NOT_IMPLEMENTED,
            "the emulator supports HTTP functions with enableForwardingHttpRequest only",
        )
            .into_response();
    }
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let target = format!(
        "{}{}",
        forwarder.handler,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut outbound = forwarder
        .client
        .request(parts.method.clone(), target)
        .body(body);
    let mut forwarded_for = Vec::new();
    for (name, value) in &parts.headers {
        if name == "x-forwarded-for" {
            forwarded_for.extend(value.to_str().ok().map(str::to_owned));
        } else if !hop_by_hop(name) {
            outbound = outbound.header(name, value);
        }
    }
    forwarded_for.push(peer.to_string());
    outbound = outbound.header("x-forwarded-for", forwarded_for.join(", "));
    let answer = match outbound.send().await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(function = %function.name, error = %e, "handler unreachable");
            return StatusCode::BAD_GATEWAY.into_response();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
