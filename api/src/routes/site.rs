//! The dashboard: its page and its assets.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route("GET", "/", Public, || get(index), dashboard_doc),
    route(
        "GET",
        "/assets/{file}",
        Public,
        || get(asset),
        dashboard_asset_doc,
    ),
];

/// The dashboard's page, with the basemap style URL of the deployment (the server settings'
/// `basemap_style`; empty: the districts over a plain background, nothing fetched from outside).
async fn index(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(dashboard::index_html(&s.settings.server.basemap_style)),
    )
}

/// The dashboard's scripts and styles, gzipped when the client takes it, revalidated by ETag.
pub(crate) async fn asset(UrlPath(file): UrlPath<String>, headers: HeaderMap) -> Response {
    let Some(a) = dashboard::asset(&file) else {
        return ApiError::NotFound(format!("no asset {file:?}")).into_response();
    };
    let common = [
        (header::CONTENT_TYPE, a.content_type),
        (header::ETAG, a.etag),
        (header::CACHE_CONTROL, "no-cache"),
        (header::VARY, "Accept-Encoding"),
    ];
    if crate::http::holds(&headers, a.etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if gzip {
        (common, [(header::CONTENT_ENCODING, "gzip")], a.gzip).into_response()
    } else {
        (common, a.body).into_response()
    }
}

/// The OpenAPI operation of `GET /`.
fn dashboard_doc() -> Value {
    json!({
        "operationId": "dashboard", "summary": "The dashboard page.",
        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
    })
}

/// The OpenAPI operation of `GET /assets/{file}`.
fn dashboard_asset_doc() -> Value {
    json!({
        "operationId": "dashboardAsset", "summary": "A script or stylesheet of the dashboard (gzipped when accepted, revalidated by ETag).",
        "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "The file.", "content": {"text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
            "304": openapi::not_modified(), "404": openapi::problem(),
        },
    })
}
