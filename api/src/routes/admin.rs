//! Admin operations on the data, so that `haven analyze`, `haven publish`, and `haven jobs run` work beside a running server: each is the core's use case run on the server's writer (the
//! command hands it over as the local operator). Readers do not wait for it; what the public
//! sees changes only with a release.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::post;
use haven_core::pipeline;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Admin;
use super::{Route, route};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "POST",
        "/api/v1/admin/analyze",
        Admin,
        || post(analyze),
        analyze_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/publish",
        Admin,
        || post(publish),
        publish_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/jobs/{name}/run",
        Admin,
        || post(run_job),
        run_job_doc,
    ),
];

/// Runs a scheduled job by name and answers its run report (JSON); set by the process that
/// holds the jobs' configuration.
pub type JobRunner = Arc<dyn Fn(&str) -> Result<Value, haven_core::Error> + Send + Sync>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    /// Recompute every part, even those whose inputs did not change.
    #[serde(default)]
    pub full: bool,
    /// Permutations of the significance tests (default: the server's settings).
    pub permutations: Option<usize>,
}

/// `POST /api/v1/admin/analyze`: the analysis run's summary.
pub async fn analyze(
    State(s): State<AppState>,
    body: Result<Json<AnalyzeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut settings = s.settings().clone();
    if let Some(n) = req.permutations {
        settings.set_permutations(n);
    }
    let report = s
        .with_store_mut(move |store| {
            Ok(pipeline::analyze(
                store,
                &settings,
                req.full,
                &analytics::NoProgress,
            )?)
        })
        .await?;
    Ok(private(Json(report)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Write a release even if nothing changed since the last one.
    #[serde(default)]
    pub force: bool,
}

/// `POST /api/v1/admin/publish`: the release made, or why the disclosure step held it back
/// (`outcome`: `made` or `held_back`). Under the server's settings.
pub async fn publish(
    State(s): State<AppState>,
    body: Result<Json<PublishRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let settings = s.settings().clone();
    let released = s
        .with_store_mut(move |store| Ok(pipeline::release(store, &settings, req.force)?))
        .await?;
    // The public indicator answers switch to the new release before this answer is given.
    s.refresh_published().await?;
    Ok(private(Json(released)))
}

/// `POST /api/v1/admin/jobs/{name}/run`: runs a job of the server's configuration now; its run
/// report.
pub async fn run_job(
    State(s): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(runner) = s.job_runner() else {
        return Err(ApiError::NotFound(
            "this server runs no scheduled jobs (no haven.toml with jobs when it started)".into(),
        ));
    };
    let report = tokio::task::spawn_blocking(move || runner(&name)).await??;
    // The job ran on a connection of its own: cached answers are stale.
    s.data_changed();
    Ok(private(Json(report)))
}

/// The OpenAPI operation of `POST /api/v1/admin/analyze`.
fn analyze_doc() -> Value {
    json!({
        "operationId": "analyze", "summary": "Admins: bring the indicators up to date on the server (haven analyze beside a running server). The public sees the result at the next release.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
            "full": {"type": "boolean", "default": false}, "permutations": {"type": ["integer", "null"], "minimum": 0}}}}}},
        "responses": {"200": {"description": "The analysis run's summary.", "content": {"application/json": {"schema": {"type": "object", "required": ["availability", "segregation", "computed", "elapsed_ms"]}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/admin/publish`.
fn publish_doc() -> Value {
    json!({
        "operationId": "publish", "summary": "Admins: ask the disclosure step for a release under the server's settings (haven publish beside a running server).",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
            "force": {"type": "boolean", "default": false}}}}}},
        "responses": {"200": {"description": "The release made (outcome made) or why it was held back (outcome held_back, with its reason).", "content": {"application/json": {"schema": {"type": "object", "required": ["outcome"], "properties": {"outcome": {"enum": ["made", "held_back"]}}}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/admin/jobs/{name}/run`.
fn run_job_doc() -> Value {
    json!({
        "operationId": "runJob", "summary": "Admins: run a scheduled job of the server's haven.toml now (haven jobs run beside a running server).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The run report.", "content": {"application/json": {"schema": {"type": "object", "required": ["run_id", "job", "outcome"]}}}}, "403": openapi::problem(), "404": openapi::problem()},
    })
}
