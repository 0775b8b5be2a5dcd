//! Every request body is read to its end before the handler answers.
//!
//! The Functions host forwards a request's body while the handler may already
//! have answered (413 for a body over the limit) and closed the connection: the
//! host then sees a broken connection and answers the client 502, depending on
//! timing. Reading the whole body first makes the answer the same every time.
//! Only up to the limit is kept; the rest is read and dropped, up to the size the
//! Functions front end itself accepts.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::error::Error;

/// Azure Functions refuses HTTP bodies over 100 MB before they reach the handler.
const FRONT_END_LIMIT: usize = 100 * 1024 * 1024;

pub async fn read_whole_body(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let mut kept: Vec<u8> = Vec::new();
    let (mut total, mut over) = (0usize, false);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Error::invalid("the request body could not be read").into_response();
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > FRONT_END_LIMIT {
            break;
        }
        if !over && kept.len() + data.len() <= limit {
            kept.extend_from_slice(&data);
        } else {
            over = true;
            kept = Vec::new();
        }
    }
    if over {
        return Error::PayloadTooLarge("the request body is too large".into()).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(Bytes::from(kept))))
        .await
}
