//! The council report: the published figures as a PDF (or the same as an HTML page) in any
//! language of the dashboard, for anyone.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::report::{self, Format};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::http::{analysis_etag, cached_file, not_modified};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[route(
    "GET",
    "/api/v1/report",
    Public,
    || get(council_report),
    report_doc,
)];

/// The parameters of the report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The month reported on, `YYYY-MM` (default: the latest published).
    pub period: Option<String>,
    /// A language of the dashboard (default `en`).
    pub lang: Option<String>,
    /// `pdf` (default) or `html`.
    pub format: Option<String>,
}

/// `GET /api/v1/report?period=2026-10&lang=nl&format=pdf`: the council report of the latest
/// release.
pub async fn council_report(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let format = Format::parse(q.format.as_deref().unwrap_or("pdf"))?;
    let lang = q.lang.unwrap_or_else(|| "en".into());
    let request = format!("report {:?} {lang} {format:?}", q.period);
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let r = report::render(store, q.period.as_deref(), &lang, format)?;
        Ok(cached_file(
            &headers,
            &tag,
            format.media_type(),
            &r.file_name,
            r.bytes,
        ))
    })
    .await
}

/// The OpenAPI operation of `GET /api/v1/report`.
fn report_doc() -> Value {
    let mut ok = openapi::ok(
        "The report.",
        "application/pdf",
        json!({"type": "string", "format": "binary"}),
    );
    ok["content"]["text/html"] = json!({"schema": {"type": "string"}});
    json!({
        "operationId": "report", "summary": "The council report of the latest release, as PDF or HTML: headline figures with their change over a year, the district map, segregation and its significance, the scenario, the forecast, the activation pipeline, the loads behind the release and method notes, each with its period and source.",
        "parameters": [
            openapi::query("period", "The month reported on, YYYY-MM (default: the latest published).", json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})),
            openapi::query("lang", "A language of the dashboard.", json!({"type": "string", "enum": ::report::languages(), "default": "en"})),
            openapi::query("format", "pdf or html.", json!({"type": "string", "enum": ["pdf", "html"], "default": "pdf"})),
        ],
        "responses": {
            "200": ok,
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}
