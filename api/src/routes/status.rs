//! Liveness, the status of the datasets, and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route("GET", "/api/v1/health", Public, || get(health), health_doc),
    route("GET", "/api/v1/status", Public, || get(status), status_doc),
    route(
        "GET",
        "/api/v1/openapi.json",
        Public,
        || get(openapi_json),
        openapi_doc,
    ),
];

#[derive(Serialize)]
struct Health {
    status: &'static str,
    instance: String,
    version: &'static str,
}

async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        instance: s.instance.to_string(),
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Serialize)]
struct DatasetStatus {
    name: String,
    title: String,
    privacy: ingest::schema::Privacy,
    /// Row count; never shown for a personal register (null, `withheld`).
    rows: Option<u64>,
    withheld: bool,
    last_loaded_at: Option<String>,
}

/// Whether a dataset fed by a scheduled import is current (the public part: no job details).
#[derive(Serialize)]
struct DatasetFreshness {
    dataset: String,
    stale: bool,
    last_change: Option<String>,
}

#[derive(Serialize)]
struct Status {
    version: &'static str,
    database: String,
    datasets: Vec<DatasetStatus>,
    overview: analytics::Overview,
    /// Datasets fed by scheduled imports, and whether they are current.
    freshness: Vec<DatasetFreshness>,
}

async fn status(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    let status = s
        .with_store(|store| {
            let last = store.last_loaded()?;
            let datasets = store
                .dataset_counts()?
                .into_iter()
                .map(|(name, rows)| {
                    let schema = ingest::schema::get(&name)?;
                    // A personal register's size, or when it was last loaded, would tell
                    // between two looks how many records a load added: neither is shown.
                    let personal = schema.privacy == ingest::schema::Privacy::Personal;
                    Ok(DatasetStatus {
                        title: schema.title.clone(),
                        privacy: schema.privacy,
                        rows: (!personal).then_some(rows as u64),
                        withheld: personal,
                        last_loaded_at: if personal {
                            None
                        } else {
                            last.get(&name).cloned()
                        },
                        name,
                    })
                })
                .collect::<Result<Vec<_>, ingest::Error>>()?;
            Ok(Status {
                version: env!("CARGO_PKG_VERSION"),
                database: store
                    .path()
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                datasets,
                overview: analytics::overview(store.conn())?,
                freshness: jobs::freshness(store)?
                    .into_iter()
                    .map(|f| DatasetFreshness {
                        dataset: f.dataset,
                        stale: f.stale,
                        last_change: f.last_change,
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(Json(status))
}

async fn openapi_json() -> Json<Value> {
    static DOC: std::sync::LazyLock<Value> = std::sync::LazyLock::new(openapi::document);
    Json(DOC.clone())
}

/// The OpenAPI operation of `GET /api/v1/health`.
fn health_doc() -> Value {
    json!({
        "operationId": "health", "summary": "Liveness.",
        "responses": {"200": {"description": "Up.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}},
    })
}

/// The OpenAPI operation of `GET /api/v1/status`.
fn status_doc() -> Value {
    json!({
        "operationId": "status", "summary": "Datasets with row counts (personal data suppressed) and headline figures.",
        "responses": {"200": {"description": "Status.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}, "500": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/openapi.json`.
fn openapi_doc() -> Value {
    json!({
        "operationId": "openapi", "summary": "This document.",
        "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}},
    })
}
