//! How a published figure was computed: its registry entry and formula, the loads and the
//! analysis the latest release records for it, and the release.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::provenance;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::http::{analysis_etag, cached, not_modified};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[route(
    "GET",
    "/api/v1/provenance/{figure}",
    Public,
    || get(figure),
    indicator_doc,
)];

/// The link to a figure's provenance, as the answers that carry it give it.
pub(crate) fn link(id: &str) -> String {
    format!("/api/v1/provenance/{id}")
}

/// `GET /api/v1/provenance/{figure}`: how a published figure was computed: an indicator of the
/// registry, or `segregation`, `scenario`, `forecast`, `pipeline`.
pub async fn figure(
    State(s): State<AppState>,
    headers: HeaderMap,
    path: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let UrlPath(id) = path?;
    s.with_store(move |store| {
        let tag = analysis_etag(store, &format!("provenance {id}"))?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let result = provenance::figure(store, &id)?;
        Ok(cached(&headers, &tag, || result))
    })
    .await
}

/// The OpenAPI operation of `GET /api/v1/provenance/{figure}`.
fn indicator_doc() -> Value {
    json!({
        "operationId": "provenance", "summary": "How a published figure was computed (an indicator of the registry, or segregation, scenario, forecast, pipeline): its registry entry and formula, or how it is derived, the datasets and loads (batch, file, time, rows read and rejected; personal datasets named only) and the analysis the latest release records, and the release.",
        "parameters": [{"name": "figure", "in": "path", "required": true, "description": "An indicator id of the registry, or segregation, scenario, forecast, pipeline.", "schema": {"type": "string"}}],
        "responses": {
            "200": openapi::ok("The provenance.", "application/json", json!({"type": "object", "required": ["figure", "indicator", "formula", "protected", "sources", "analyses", "release"], "properties": {
                "figure": {"type": "string"},
                "indicator": {"oneOf": [{"$ref": "#/components/schemas/Indicator"}, {"type": "null"}]},
                "formula": {"type": "string"}, "protected": {"type": "boolean"},
                "sources": {"type": "array", "items": {"type": "object", "required": ["title", "dataset", "personal", "loads"], "properties": {
                    "title": {"type": "string"}, "dataset": {"type": "string"}, "personal": {"type": "boolean"},
                    "loads": {"type": "array", "items": {"type": "object", "required": ["batch", "file", "rows", "rows_read", "rows_rejected"], "properties": {
                        "batch": {"type": "integer"}, "file": {"type": "string"}, "loaded_at": {"type": ["string", "null"]},
                        "rows": {"type": "integer"}, "rows_read": {"type": "integer"}, "rows_rejected": {"type": "integer"}}}}}}},
                "analyses": {"type": "array", "items": {"type": "object", "required": ["part", "computed_at"], "properties": {"part": {"type": "string"}, "computed_at": {"type": "string"}}}},
                "release": {"type": "object", "required": ["version", "published_at", "package"], "properties": {"version": {"type": "integer"}, "published_at": {"type": "string"}, "package": {"type": "string"}}}}})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}
