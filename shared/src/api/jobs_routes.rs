use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::JobsApi;
use super::extract::{Caller, JsonBody};
use crate::domain::{IdempotencyKey, JobId};
use crate::error::Error;
use crate::jobs::SubmitJob;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Error> {
    headers
        .get("idempotency-key")
        .map(|value| {
            // A header that is not even text fails the same check as a bad key.
            IdempotencyKey::parse(value.to_str().unwrap_or_default()).map_err(Error::invalid)
        })
        .transpose()
}

pub(super) async fn submit(
    State(api): State<JobsApi>,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(request): JsonBody<SubmitJob>,
) -> Result<Response, Error> {
    let key = idempotency_key(&headers)?;
    let body = api.jobs.submit(caller.user_id, request, key).await?;
    let location = HeaderValue::from_str(&format!("/jobs/{}", body.job_id))
        .map_err(|e| Error::internal(format!("location header: {e}")))?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

pub(super) async fn get(
    State(api): State<JobsApi>,
    Caller(caller): Caller,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, Error> {
    // An id that is not one of ours names nothing: 404, as an unknown one does.
    let id: JobId = job_id.parse().map_err(|_| Error::NotFound)?;
    let job = api.jobs.get(caller.user_id, id).await?;
    Ok(Json(super::job_json(&job)))
}

/// One page of `GET /jobs`.
#[derive(Serialize)]
pub(super) struct JobPageBody {
    items: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(super) async fn list(
    State(api): State<JobsApi>,
    Caller(caller): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<JobPageBody>, Error> {
    // Both parameters are plain ASCII (digits; base64url), so no percent-decoding
    // is needed: anything else fails to parse and is a 400.
    let param = |name: &str| {
        query.as_deref().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value)
        })
    };
    let limit = param("limit")
        .map(|text| {
            text.parse::<usize>()
                .map_err(|_| Error::invalid("limit must be a positive integer"))
        })
        .transpose()?;
    let page = api
        .jobs
        .list(caller.user_id, limit, param("cursor"))
        .await?;
    Ok(Json(JobPageBody {
        items: page.jobs.iter().map(super::job_json).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub(super) async fn notifications(
    State(api): State<JobsApi>,
    Caller(caller): Caller,
) -> Result<Json<Value>, Error> {
    let items: Vec<Value> = api
        .notifications
        .list(caller.user_id)
        .await?
        .iter()
        .map(super::notification_view::notification_json)
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}
