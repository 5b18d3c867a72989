//! Admin operations on the data, so that `haven analyze`, `haven publish`, and `haven jobs run` work beside a running server: each is the core's use case run on the server's writer (the
//! command hands it over as the local operator). Readers do not wait for it; what the public
//! sees changes only with a release.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::{get, post};
use haven_core::pipeline;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Admin;
use super::{Route, route};
use crate::auth::{Caller, actor};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/admin/memory",
        Admin,
        || get(memory),
        memory_doc,
    ),
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
        "/api/v1/admin/lake/push",
        Admin,
        || post(lake_push),
        lake_push_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/jobs/{name}/run",
        Admin,
        || post(run_job),
        run_job_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/erase",
        Admin,
        || post(erase),
        erase_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/retention",
        Admin,
        || post(retention),
        retention_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/backup",
        Admin,
        || post(backup),
        backup_doc,
    ),
];

/// `POST /api/v1/admin/retention`: applies the retention period of placements now (the server
/// also does every day); `null` when `haven.toml` sets none.
pub async fn retention(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
) -> Result<Response, ApiError> {
    let actor = actor(caller.as_ref());
    let settings = s.settings().clone();
    let report = s
        .with_store_mut(move |store| Ok(haven_core::erase::retention(store, &settings, &actor)?))
        .await?;
    Ok(private(Json(report)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// A new folder on the server's machine.
    pub dir: String,
}

/// `POST /api/v1/admin/backup` with `{"dir": …}`: a consistent backup into a new folder on the
/// server's machine (`haven backup DIR` beside a server). Only the local operator may ask:
/// a remote admin never chooses where the server writes.
pub async fn backup(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    body: Result<Json<BackupRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if !matches!(caller, Some(axum::Extension(Caller::Local))) {
        return Err(ApiError::Forbidden(
            "backups are taken with `haven backup DIR` on the server's machine".into(),
        ));
    }
    let Json(req) = body?;
    let published = s.settings().release.root.clone();
    let manifest = s
        .with_writer(move |store| {
            Ok(haven_core::backup::backup(
                store,
                &published,
                std::path::Path::new(&req.dir),
            )?)
        })
        .await?;
    Ok(private(Json(manifest)))
}

/// The OpenAPI operation of `POST /api/v1/admin/retention`.
fn retention_doc() -> Value {
    json!({
        "operationId": "applyRetention", "summary": "Admins: delete the placements past the retention period of haven.toml now.",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "What was erased (null: no retention period is set).", "content": {"application/json": {"schema": {"type": ["object", "null"]}}}}, "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/admin/backup`.
fn backup_doc() -> Value {
    json!({
        "operationId": "backup", "summary": "The local operator (haven backup): a consistent backup into a new folder on the server's machine.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["dir"], "additionalProperties": false, "properties": {
            "dir": {"type": "string", "minLength": 1}}}}}},
        "responses": {"200": {"description": "The backup's manifest.", "content": {"application/json": {"schema": {"type": "object", "required": ["files", "tables"]}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

/// The household to erase; in the body, so the reference never reaches a URL or a log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    pub household_ref: String,
}

/// `POST /api/v1/admin/erase` with `{"household_ref": …}`: a data subject's erasure (`haven
/// erase household REF` beside a server). Audited like every admin request; the indicators
/// are recomputed without the household at once.
pub async fn erase(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    body: Result<Json<EraseRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let actor = actor(caller.as_ref());
    let settings = s.settings().clone();
    let report = s
        .with_store_mut(move |store| {
            Ok(haven_core::erase::household(
                store,
                &settings,
                &req.household_ref,
                &actor,
            )?)
        })
        .await?;
    Ok(private(Json(report)))
}

/// The OpenAPI operation of `POST /api/v1/admin/erase`.
fn erase_doc() -> Value {
    json!({
        "operationId": "eraseHousehold", "summary": "Admins: erase a household's personal data on its request (placements and rejected rows); it is not loaded again.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["household_ref"], "additionalProperties": false, "properties": {
            "household_ref": {"type": "string", "minLength": 1}}}}}},
        "responses": {"200": {"description": "What was erased.", "content": {"application/json": {"schema": {"type": "object", "required": ["erased", "analysed"]}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

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
    let Json(req) = body?;
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
    let Json(req) = body?;
    let settings = s.settings().clone();
    let released = s
        .with_store_mut(move |store| Ok(pipeline::release(store, &settings, req.force)?))
        .await?;
    // The public indicator answers switch to the new release before this answer is given.
    s.refresh_published().await?;
    Ok(private(Json(released)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakePushRequest {
    /// The release to push; the latest when absent.
    #[serde(default)]
    release: Option<u32>,
}

/// `POST /api/v1/admin/lake/push`: sends a release (default: the latest) to the region's lake
/// (haven lake push beside a running server). It only reads the database: no writer waits.
pub async fn lake_push(
    State(s): State<AppState>,
    body: Result<Json<LakePushRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    if s.settings().lake.is_none() {
        return Err(ApiError::NotFound(
            "this server has no lake (no [lake] in haven.toml, no HAVEN_LAKE when it started)"
                .into(),
        ));
    }
    let settings = s.settings().clone();
    let pushed = s
        .with_store(move |store| Ok(haven_core::region::push(store, &settings, req.release)?))
        .await?;
    Ok(private(Json(pushed)))
}

/// The OpenAPI operation of `POST /api/v1/admin/lake/push`.
fn lake_push_doc() -> Value {
    json!({
        "operationId": "lakePush", "summary": "Admins: send a release (default: the latest) to the region's lake (haven lake push beside a running server).",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
            "release": {"type": ["integer", "null"], "minimum": 1}}}}}},
        "responses": {"200": {"description": "What reached the lake: its snapshots, tables and rows, and the commits tried again after conflicts with other writers.", "content": {"application/json": {"schema": {"type": "object", "required": ["municipality", "version", "snapshot", "restricted_snapshot", "tables", "rows", "retries", "already"]}}}}, "400": openapi::problem(), "403": openapi::problem(), "404": openapi::problem()},
    })
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

/// The server's resident memory (Linux's `VmRSS`), in bytes; `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `GET /api/v1/admin/memory`: where the server's memory goes: its resident size, the answers
/// kept, and DuckDB's memory by component.
pub async fn memory(State(s): State<AppState>) -> Result<Response, ApiError> {
    let duckdb = s
        .with_store(|store| Ok(haven_core::read::duckdb_memory(store)?))
        .await?;
    Ok(private(Json(json!({
        "resident_bytes": resident_bytes(),
        "answer_cache_bytes": s.cache_bytes(),
        "answer_cache_entries": s.cache_entries(),
        "duckdb": duckdb,
    }))))
}

/// The OpenAPI operation of `GET /api/v1/admin/memory`.
fn memory_doc() -> Value {
    json!({
        "operationId": "memory", "summary": "Admins: where the server's memory goes: resident size, the answers kept in memory, DuckDB's memory by component.",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "Memory.", "content": {"application/json": {"schema": {"type": "object", "required": ["resident_bytes", "answer_cache_bytes", "duckdb"], "properties": {
            "resident_bytes": {"type": ["integer", "null"], "minimum": 0},
            "answer_cache_bytes": {"type": "integer", "minimum": 0, "description": "What the answers kept hold: bodies, keys, headers and their slots."},
            "answer_cache_entries": {"type": "integer", "minimum": 0},
            "duckdb": {"type": "array", "items": {"type": "object", "required": ["tag", "memory_bytes", "temporary_bytes"], "properties": {
                "tag": {"type": "string"}, "memory_bytes": {"type": "integer"}, "temporary_bytes": {"type": "integer"}}}}}}}}},
            "401": openapi::problem(), "403": openapi::problem()},
    })
}
