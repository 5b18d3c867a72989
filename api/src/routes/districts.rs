//! The districts as GeoJSON with the published values of one month.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::read::{explore, indicator_ids, month};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::http::{analysis_etag, cached, not_modified};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[route(
    "GET",
    "/api/v1/districts",
    Public,
    || get(districts),
    districts_doc,
)];

/// The filters of `GET /api/v1/districts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictsQuery {
    /// Month `YYYY-MM` (default: the latest).
    pub period: Option<String>,
    /// Indicator ids, comma-separated (default: all).
    pub indicator: Option<String>,
}

/// `GET /api/v1/districts`: a GeoJSON FeatureCollection (RFC 7946) of the districts with the
/// published values of one month; withheld values are null and listed in `withheld`.
pub async fn districts(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<DistrictsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    month("period", &q.period)?;
    let ids = indicator_ids(&q.indicator)?;
    let request = format!("districts {q:?}");
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let (_, features) = explore::districts(store, q.period.as_deref(), &ids)?;
        let collection = haven_core::geometry::collection(features);
        let mut res = cached(&headers, &tag, || collection);
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/geo+json"),
        );
        Ok(res)
    })
    .await
}

/// The OpenAPI operation of `GET /api/v1/districts`.
fn districts_doc() -> Value {
    let ids = openapi::indicator_ids();
    json!({
        "operationId": "districts", "summary": "The districts as GeoJSON (RFC 7946) with the published values of one month.",
        "parameters": [openapi::month_param("period", "The month (default: the latest)."), openapi::list_of(&ids)],
        "responses": {
            "200": openapi::ok("A FeatureCollection.", "application/geo+json", json!({"$ref": "#/components/schemas/FeatureCollection"})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}
