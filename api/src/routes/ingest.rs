//! Loading a file: the upload route, also the loopback hand-off of `haven ingest`.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::routing::post;
use serde_json::{Value, json};

use super::Access::Officer;
use super::{Route, route};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[route(
    "POST",
    "/api/v1/ingest/{dataset}",
    Officer,
    // The limit is the server's setting, applied while the body arrives (below).
    || post(ingest_upload).layer(DefaultBodyLimit::disable()),
    ingest_doc,
)];

async fn ingest_upload(
    State(s): State<AppState>,
    UrlPath(dataset): UrlPath<String>,
    params: Result<
        Query<haven_core::pipeline::LoadParams>,
        axum::extract::rejection::QueryRejection,
    >,
    body: Body,
) -> Result<Json<ingest::Report>, ApiError> {
    let Query(params) = params?;
    ingest::schema::get(&dataset)?;
    let opts = params.to_options("server")?;
    // Read as it arrives, and refused past the limit: an endless upload holds at most that.
    let limit = s.settings.server.max_upload;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::TooLarge(format!(
            "the upload is larger than the server takes ({} MiB: [server] max_upload_megabytes)",
            limit >> 20
        ))
    })?;
    let input = ingest::Input {
        name: params
            .source
            .clone()
            .unwrap_or_else(|| format!("upload.{dataset}")),
        path: None,
        // The collected body's own allocation, not a copy of it.
        bytes: Vec::from(body),
    };
    let settings = s.settings.clone();
    let report = s
        .with_store_mut(move |store| {
            // The pipeline's policy: the indicators catch up; what the public sees changes at
            // the next release, never after one upload (two releases around it would
            // describe it).
            let (report, _) = haven_core::pipeline::load(
                store,
                &settings,
                &dataset,
                &input,
                &opts,
                haven_core::pipeline::After::Analyze,
            )?;
            Ok(report)
        })
        .await?;
    tracing::info!(dataset = %report.dataset, batch = report.batch_id, outcome = report.outcome.as_str(),
        read = report.rows_read, rejected = report.rows_rejected, "upload loaded");
    Ok(Json(report))
}

/// The OpenAPI operation of `POST /api/v1/ingest/{dataset}`.
fn ingest_doc() -> Value {
    let datasets = openapi::dataset_names();
    json!({
        "operationId": "ingest", "summary": "Load a file into a dataset, with the validation of haven ingest (the loopback hand-off of the CLI).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "dataset", "in": "path", "required": true, "schema": {"type": "string", "enum": datasets}}],
        "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
        "responses": {"200": {"description": "The load report.", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": openapi::problem(), "401": openapi::problem(), "413": openapi::problem()},
    })
}
