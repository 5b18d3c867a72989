//! The indicator query (published values for everyone, values as computed for officers) and
//! the indicator registry. Public answers come from the read model when it is ready.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use haven_core::read::indicators::IndicatorQuery;
use haven_core::read::{decode_cursor, indicator_ids, indicators, limit_of};
use serde_json::{Value, json};

use super::Access::{Officer, Public};
use super::{Route, route};
use crate::http::{analysis_etag, cached, etag, link_provenance, not_modified};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/indicators",
        Public,
        || get(indicators),
        indicators_doc,
    ),
    route(
        "GET",
        "/api/v1/indicators/registry",
        Public,
        || get(registry),
        registry_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/indicators",
        Officer,
        || get(officer_indicators),
        officer_indicators_doc,
    ),
];

/// `GET /api/v1/indicators`: published indicator values, one item per area, month and
/// indicator, ordered by (area, period, indicator) and paged by keyset.
pub async fn indicators(
    state: State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    indicators_from(state, headers, q, false).await
}

/// `GET /api/v1/officer/indicators`: the same query as the public one, on every value before
/// suppression (the `indicators_monthly` view).
pub async fn officer_indicators(
    state: State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    indicators_from(state, headers, q, true).await
}

/// The indicator query on the published values, or (`restricted`, for officers) on every value
/// before suppression.
pub(crate) async fn indicators_from(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
    restricted: bool,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let ids = indicator_ids(&q.indicator)?;
    q.check()?;
    let limit = limit_of(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let request = format!("{restricted} {q:?}");
    // The public route answers from the read model when it is ready (published.rs).
    let (q, ids, after) = if !restricted && let Some(m) = s.published_model().await {
        let tag = etag(&m.version, &request);
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let scan = q.area.is_none();
        let answer = move || {
            let page = m.answer(&q, &ids, after.as_deref(), limit);
            (page, q, ids, after)
        };
        // Without an area the whole table is walked: off the runtime.
        let (page, q, ids, after) = if scan {
            s.blocking(answer).await?
        } else {
            answer()
        };
        if let Some(page) = page {
            let mut res = cached(&headers, &tag, || page);
            link_provenance(&mut res, &ids);
            return Ok(res);
        }
        // A query the model does not answer the same way: SQL.
        (q, ids, after)
    } else {
        (q, ids, after)
    };
    sql_answer(s, headers, q, ids, after, limit, request, restricted).await
}

#[allow(clippy::too_many_arguments)]
async fn sql_answer(
    s: AppState,
    headers: HeaderMap,
    q: IndicatorQuery,
    ids: Vec<&'static str>,
    after: Option<Vec<String>>,
    limit: usize,
    request: String,
    restricted: bool,
) -> Result<Response, ApiError> {
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let page = indicators::page(store, &q, &ids, after.as_deref(), limit, restricted)?;
        let mut res = cached(&headers, &tag, || page);
        link_provenance(&mut res, &ids);
        Ok(res)
    })
    .await
    .map(|mut r| {
        if restricted {
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
        }
        r
    })
}

/// `GET /api/v1/indicators/registry`: every indicator's id, unit, texts, sources, privacy class
/// and aggregation.
pub async fn registry(headers: HeaderMap) -> Response {
    let tag = etag(env!("CARGO_PKG_VERSION"), "registry");
    cached(&headers, &tag, || {
        analytics::registry::INDICATORS
            .iter()
            .map(|i| {
                let mut v = serde_json::to_value(i).unwrap_or_default();
                v["provenance"] = super::provenance::link(i.id).into();
                v
            })
            .collect::<Vec<_>>()
    })
}

/// The OpenAPI operation of `GET /api/v1/indicators`.
fn indicators_doc() -> Value {
    let ids = openapi::indicator_ids();
    json!({
        "operationId": "indicators", "summary": "Published indicator values per area, month and indicator, paged by keyset.",
        "parameters": openapi::indicator_params(&ids),
        "responses": {
            "200": openapi::ok("A page.", "application/json", json!({"$ref": "#/components/schemas/IndicatorPage"})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/indicators/registry`.
fn registry_doc() -> Value {
    json!({
        "operationId": "registry", "summary": "Every indicator: id, unit, English and Dutch text, sources, privacy class, aggregation.",
        "responses": {
            "200": openapi::ok("The registry.", "application/json", json!({"type": "array", "items": {"$ref": "#/components/schemas/Indicator"}})),
            "304": openapi::not_modified(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/indicators`.
fn officer_indicators_doc() -> Value {
    let ids = openapi::indicator_ids();
    json!({
        "operationId": "officerIndicators", "summary": "Officers: every indicator value before suppression, as /api/v1/indicators.",
        "security": [{"bearer": []}],
        "parameters": openapi::indicator_params(&ids),
        "responses": {
            "200": openapi::ok("A page.", "application/json", json!({"$ref": "#/components/schemas/IndicatorPage"})),
            "304": openapi::not_modified(), "400": openapi::problem(), "403": openapi::problem(), "404": openapi::problem(),
        },
    })
}
