//! The officers' restricted views: vacant property rows, loads and their rejected rows, and
//! the runs of the scheduled imports. Access is checked by the guard from the route table.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::Response;
use axum::routing::get;
use haven_core::read::officer::PropertiesQuery;
use haven_core::read::{limit_of, officer};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Officer;
use super::{Route, route};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/officer/vacant-properties",
        Officer,
        || get(vacant_properties),
        officer_vacant_properties_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/batches",
        Officer,
        || get(batches),
        batches_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/batches/{batch}/rejected",
        Officer,
        || get(rejected_rows),
        rejected_rows_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/jobs",
        Officer,
        || get(job_runs),
        job_runs_doc,
    ),
];

/// `GET /api/v1/officer/vacant-properties`: vacant property rows with address and location,
/// ordered by property id and paged by keyset.
pub async fn vacant_properties(
    State(s): State<AppState>,
    q: Result<Query<PropertiesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = limit_of(q.limit)?;
    let after = q.check()?;
    let page = s
        .with_store(move |store| {
            Ok(officer::vacant_properties(
                store,
                &q,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(private(Json(page)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchesQuery {
    pub dataset: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/officer/batches`: the latest loads (uploads, command line, scheduled imports),
/// newest first, with their outcome and counts.
pub async fn batches(
    State(s): State<AppState>,
    q: Result<Query<BatchesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = limit_of(q.limit)?;
    let batches = s
        .with_store(move |store| Ok(store.batches(q.dataset.as_deref(), limit)?))
        .await?;
    Ok(private(Json(batches)))
}

/// `GET /api/v1/officer/batches/{batch}/rejected`: the rejected rows of a load, in line order.
pub async fn rejected_rows(
    State(s): State<AppState>,
    UrlPath(batch): UrlPath<String>,
) -> Result<Response, ApiError> {
    let id: i64 = batch
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("batch '{batch}' is not a number")))?;
    let rows = s
        .with_store(move |store| Ok(store.rejected_rows(id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no batch {id}")))?;
    Ok(private(Json(rows)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRunsQuery {
    pub job: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/officer/jobs`: the latest runs of the scheduled imports, newest first.
pub async fn job_runs(
    State(s): State<AppState>,
    q: Result<Query<JobRunsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = limit_of(q.limit)?;
    let runs = s
        .with_store(move |store| Ok(jobs::runs(store, q.job.as_deref(), limit)?))
        .await?;
    Ok(private(Json(runs)))
}

/// The OpenAPI operation of `GET /api/v1/officer/vacant-properties`.
fn officer_vacant_properties_doc() -> Value {
    let [cursor, limit] = openapi::paging();
    json!({
        "operationId": "officerVacantProperties", "summary": "Officers: vacant property rows with address and location, paged by keyset.",
        "security": [{"bearer": []}],
        "parameters": [
            openapi::query("district", "Only this district.", json!({"type": "string"})),
            openapi::query("status", "Only this status.", json!({"type": "string"})),
            openapi::query("owner_type", "Only this owner type.", json!({"type": "string"})),
            openapi::query("condition", "Only this condition.", json!({"type": "string"})),
            openapi::query("min_months_vacant", "Only properties vacant for at least this many months.", json!({"type": "integer", "minimum": 0, "maximum": 1200})),
            cursor, limit,
        ],
        "responses": {
            "200": {"description": "A page.", "content": {"application/json": {"schema": {"type": "object", "required": ["items", "total", "next_cursor"], "properties": {
                "items": {"type": "array", "items": {"type": "object", "required": ["property_id"]}},
                "total": {"type": "integer", "minimum": 0}, "next_cursor": {"type": ["string", "null"]}}}}}},
            "400": openapi::problem(), "403": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/batches`.
fn batches_doc() -> Value {
    json!({
        "operationId": "batches", "summary": "Officers: the latest loads (uploads, command line, scheduled imports), newest first.",
        "security": [{"bearer": []}],
        "parameters": [openapi::query("dataset", "Only this dataset.", json!({"type": "string"})), openapi::query("limit", "Loads.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
        "responses": {"200": {"description": "Loads.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["batch_id", "dataset", "outcome", "rows_read", "rows_accepted", "rows_rejected", "started_at"]}}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/batches/{batch}/rejected`.
fn rejected_rows_doc() -> Value {
    json!({
        "operationId": "rejectedRows", "summary": "Officers: the rejected rows of a load, in line order (haven batches --rejected beside a running server).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "batch", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "Rows.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["line", "reason"]}}}}}, "400": openapi::problem(), "401": openapi::problem(), "404": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/jobs`.
fn job_runs_doc() -> Value {
    json!({
        "operationId": "jobRuns", "summary": "Officers: the latest runs of the scheduled imports, newest first.",
        "security": [{"bearer": []}],
        "parameters": [openapi::query("job", "Only this job.", json!({"type": "string"})), openapi::query("limit", "Runs.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
        "responses": {"200": {"description": "Runs.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["run_id", "job", "started_at", "outcome"]}}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}
