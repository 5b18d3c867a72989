//! The segregation series and location quotients (published tables only).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::read::explore::SegregationQuery;
use haven_core::read::{decode_cursor, explore, limit_of, month};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::http::{analysis_etag, cached, described, etag, not_modified};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/segregation",
        Public,
        || get(segregation),
        segregation_doc,
    ),
    route(
        "GET",
        "/api/v1/segregation/location-quotients",
        Public,
        || get(location_quotients),
        location_quotients_doc,
    ),
];

/// `GET /api/v1/segregation`: index values per period and group, ordered by (period, group,
/// index) and paged by keyset, with the significance of the latest change of D.
pub async fn segregation(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SegregationQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    month("from", &q.from)?;
    month("to", &q.to)?;
    let limit = limit_of(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let request = format!("segregation {q:?}");
    s.with_store(move |store| {
        let version = explore::segregation_version(store)?;
        let tag = etag(&version, &request);
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let page = explore::segregation(store, &q, after.as_deref(), limit)?;
        Ok(cached(&headers, &tag, || described(page, "segregation")))
    })
    .await
}

/// The parameters of `GET /api/v1/segregation/location-quotients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationQuotientQuery {
    /// A population group, or `placed_persons`.
    pub group: String,
    /// Month `YYYY-MM` (default: the latest).
    pub period: Option<String>,
}

/// `GET /api/v1/segregation/location-quotients?group=G`: per district, the group's share of the
/// district's population over its share of the municipality's (`LQ_i = p_i / P`). For persons
/// placed the quotient is built on a personal count, so it is withheld wherever that count
/// (`placements_active_persons`) is withheld.
pub async fn location_quotients(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LocationQuotientQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    month("period", &q.period)?;
    let request = format!("location-quotients {q:?}");
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let lq = explore::location_quotients(store, &q.group, q.period.as_deref())?;
        Ok(cached(&headers, &tag, || described(lq, "segregation")))
    })
    .await
}

/// The OpenAPI operation of `GET /api/v1/segregation`.
fn segregation_doc() -> Value {
    let [cursor, limit] = openapi::paging();
    json!({
        "operationId": "segregation", "summary": "Segregation indices per period and group, paged by keyset, with the significance of the latest change of dissimilarity.",
        "parameters": [
            openapi::query("group", "A population group, placed_persons, or all (multigroup indices).", json!({"type": "string"})),
            openapi::query("index", "An index id, e.g. dissimilarity.", json!({"type": "string"})),
            openapi::month_param("from", "First period (inclusive)."),
            openapi::month_param("to", "Last period (inclusive)."),
            cursor, limit,
        ],
        "responses": {
            "200": openapi::ok("A page.", "application/json", json!({"$ref": "#/components/schemas/SegregationPage"})),
            "304": openapi::not_modified(), "400": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/segregation/location-quotients`.
fn location_quotients_doc() -> Value {
    json!({
        "operationId": "locationQuotients", "summary": "Location quotients of one group per district for a month: the group's share of the district over its share of the municipality. For persons placed, withheld where their count is.",
        "parameters": [
            {"name": "group", "in": "query", "required": true, "description": "A population group, or placed_persons.", "schema": {"type": "string"}},
            openapi::month_param("period", "The month (default: the latest)."),
        ],
        "responses": {
            "200": openapi::ok("Location quotients.", "application/json", json!({"type": "object", "required": ["group", "period", "items"], "properties": {
                "group": {"type": "string"}, "period": {"type": ["string", "null"]},
                "items": {"type": "array", "items": {"type": "object", "required": ["district_code", "lq", "withheld"], "properties": {
                    "district_code": {"type": "string"}, "lq": {"type": ["number", "null"]}, "withheld": {"type": "boolean"}}}}}})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}
