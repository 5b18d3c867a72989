//! The other query routes of the dashboard and researchers: districts as GeoJSON with their
//! indicator values for a month, the segregation series, and the preparedness scenario. Like
//! the indicators they read published tables only, carry ETags and answer 304.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use haven_core::read::explore::{self, SegregationQuery};
use haven_core::read::{decode_cursor, indicator_ids, limit_of, month};
use haven_core::scenario;
use serde::Deserialize;

use crate::query::{analysis_etag, cached, etag, not_modified};
use crate::{ApiError, AppState};

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
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
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

/// `GET /api/v1/segregation`: index values per period and group, ordered by (period, group,
/// index) and paged by keyset, with the significance of the latest change of D.
pub async fn segregation(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SegregationQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
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
        Ok(cached(&headers, &tag, || page))
    })
    .await
}

/// The parameters of `GET /api/v1/scenario`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioQuery {
    /// Persons arriving, 1 to 100,000.
    pub inflow: u32,
    /// Highest location quotient of persons placed allowed in a district (default 1.5).
    pub lq_cap: Option<f64>,
}

/// `GET /api/v1/scenario?inflow=N&lq_cap=1.5`: how many of an inflow can be housed within 30
/// and 90 days, where, at what cost, with and without the cap on concentration, and the
/// dissimilarity it would produce. The location quotients after the allocation (per district,
/// and the highest) are left out: with the allocation and the public population they would give
/// away the persons placed in a district today.
pub async fn scenario(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ScenarioQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let request = format!("scenario {} {:?}", q.inflow, q.lq_cap);
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let result = scenario::scenario(store, q.inflow, q.lq_cap, scenario::Basis::Published)?;
        Ok(cached(&headers, &tag, || result))
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
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    month("period", &q.period)?;
    let request = format!("location-quotients {q:?}");
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let lq = explore::location_quotients(store, &q.group, q.period.as_deref())?;
        Ok(cached(&headers, &tag, || lq))
    })
    .await
}
