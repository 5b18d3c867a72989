//! The other query routes of the dashboard and researchers: districts as GeoJSON with their
//! indicator values for a month, the segregation series, and the preparedness scenario. Like
//! the indicators they read published tables only, carry ETags and answer 304.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use duckdb::types::Value as Db;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::query::{
    Keyset, Page, analysis_etag, cached, decode_cursor, etag, indicator_ids, json_value,
    keyset_page, limit_of, month, not_modified,
};
use crate::{ApiError, AppState};
use haven_core::geometry::Area;
use haven_core::scenario;

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
        let conn = store.conn();
        let period: Option<String> = match &q.period {
            Some(p) => Some(p.clone()),
            None => conn
                .query_row("SELECT max(period) FROM indicators_published", [], |r| {
                    r.get(0)
                })
                .map_err(ingest::Error::from)?,
        };
        let columns: String = ids.iter().map(|i| format!(", p.\"{i}\"")).collect();
        let sql = format!(
            "SELECT d.district_code, d.name, d.geometry{columns}, p.withheld
             FROM districts d LEFT JOIN indicators_published p
               ON p.area_code = d.district_code AND p.level = 'district' AND p.period = ?
             ORDER BY d.district_code"
        );
        let mut stmt = conn.prepare(&sql).map_err(ingest::Error::from)?;
        let mut rows = stmt
            .query([period.clone().unwrap_or_default()])
            .map_err(ingest::Error::from)?;
        let mut features = Vec::new();
        while let Some(r) = rows.next().map_err(ingest::Error::from)? {
            let code: String = r.get(0).map_err(ingest::Error::from)?;
            let area = Area::parse(&r.get::<_, String>(2).map_err(ingest::Error::from)?)?;
            let withheld: Option<String> = r.get(3 + ids.len()).map_err(ingest::Error::from)?;
            let withheld: Vec<&str> = withheld
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|w| !w.is_empty() && ids.contains(w))
                .collect();
            let mut properties = serde_json::Map::new();
            properties.insert("district_code".into(), json!(code));
            properties.insert(
                "name".into(),
                json!(r.get::<_, String>(1).map_err(ingest::Error::from)?),
            );
            properties.insert("period".into(), json!(period));
            for (i, id) in ids.iter().enumerate() {
                let v: Db = r.get(3 + i).map_err(ingest::Error::from)?;
                properties.insert(id.to_string(), json_value(&v));
            }
            properties.insert("withheld".into(), json!(withheld));
            features.push((code, area, properties));
        }
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

/// The filters and page of `GET /api/v1/segregation`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegregationQuery {
    /// A population group, `placed_persons`, or `all` (the multigroup indices).
    pub group: Option<String>,
    /// An index id, e.g. `dissimilarity`.
    pub index: Option<String>,
    /// Months `YYYY-MM`, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct SegregationValue {
    pub period: String,
    pub group: String,
    pub index: String,
    pub value: Option<f64>,
    /// Permutation p-value (999 random labellings), latest period only.
    pub p_value: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SegregationChange {
    pub group: String,
    pub from_period: String,
    pub to_period: String,
    pub d_from: f64,
    pub d_to: f64,
    pub change: f64,
    /// 95% bootstrap interval of the change.
    pub ci_low: f64,
    pub ci_high: f64,
    /// The interval excludes 0: the change is more than chance.
    pub significant: bool,
}

#[derive(Debug, Serialize)]
pub struct SegregationPage {
    #[serde(flatten)]
    pub page: Page<SegregationValue>,
    /// The change of dissimilarity over the last year, per group (first page only).
    pub changes: Vec<SegregationChange>,
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
        let conn = store.conn();
        let version: String = conn
            .query_row(
                "SELECT coalesce(max(computed_at)::VARCHAR || ' ' || max(md5(fingerprint)), '') FROM analysis_runs WHERE part = 'segregation'",
                [],
                |r| r.get(0),
            )
            .map_err(ingest::Error::from)?;
        let tag = etag(&version, &request);
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let mut filters = vec!["TRUE".to_string()];
        let mut params: Vec<Db> = Vec::new();
        for (sql, v) in [
            ("\"group\" = ?", &q.group),
            ("\"index\" = ?", &q.index),
            ("period >= ?", &q.from),
            ("period <= ?", &q.to),
        ] {
            if let Some(v) = v {
                filters.push(sql.into());
                params.push(Db::Text(v.clone()));
            }
        }
        let base = format!(
            "SELECT period, \"group\", \"index\", value, p_value FROM segregation_published WHERE {}",
            filters.join(" AND ")
        );
        let page = keyset_page(
            conn,
            Keyset {
                base: &base,
                params: &params,
                key: ["period", "\"group\"", "\"index\""],
                after: after.as_deref(),
                limit,
            },
            |r| {
                Ok(SegregationValue {
                    period: r.get(0)?,
                    group: r.get(1)?,
                    index: r.get(2)?,
                    value: r.get::<_, Option<f64>>(3)?.filter(|v| v.is_finite()),
                    p_value: r.get(4)?,
                })
            },
            |v| [&v.period, &v.group, &v.index],
        )?;
        let changes = if after.is_none() {
            let mut stmt = conn
                .prepare(
                    "SELECT \"group\", from_period, to_period, d_from, d_to, change, ci_low, ci_high, significant
                     FROM segregation_changes_published WHERE ? IS NULL OR \"group\" = ? ORDER BY \"group\"",
                )
                .map_err(ingest::Error::from)?;
            stmt.query_map([&q.group, &q.group], |r| {
                Ok(SegregationChange {
                    group: r.get(0)?,
                    from_period: r.get(1)?,
                    to_period: r.get(2)?,
                    d_from: r.get(3)?,
                    d_to: r.get(4)?,
                    change: r.get(5)?,
                    ci_low: r.get(6)?,
                    ci_high: r.get(7)?,
                    significant: r.get(8)?,
                })
            })
            .map_err(ingest::Error::from)?
            .collect::<Result<_, _>>()
            .map_err(ingest::Error::from)?
        } else {
            Vec::new()
        };
        Ok(cached(&headers, &tag, || SegregationPage { page, changes }))
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
        let conn = store.conn();
        let groups: Vec<String> = conn
            .prepare(
                "SELECT column_name FROM information_schema.columns
                 WHERE table_name = 'location_quotients_published' AND column_name NOT IN ('period', 'district_code')
                 ORDER BY column_name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(ingest::Error::from)?;
        if !groups.contains(&q.group) {
            return Err(ApiError::BadRequest(format!(
                "unknown group {:?}: one of {}",
                q.group,
                groups.join(", ")
            )));
        }
        let period: Option<String> = match &q.period {
            Some(p) => Some(p.clone()),
            None => conn
                .query_row("SELECT max(period) FROM location_quotients_published", [], |r| r.get(0))
                .map_err(ingest::Error::from)?,
        };
        let personal = q.group == analytics::PLACED;
        let sql = format!(
            "SELECT d.district_code, l.\"{g}\",
                    {personal} AND p.placements_active_persons IS NULL
             FROM districts d
             LEFT JOIN location_quotients_published l ON l.district_code = d.district_code AND l.period = ?1
             LEFT JOIN indicators_published p
               ON p.area_code = d.district_code AND p.level = 'district' AND p.period = ?1
             ORDER BY d.district_code",
            g = q.group
        );
        let mut stmt = conn.prepare(&sql).map_err(ingest::Error::from)?;
        let items: Vec<serde_json::Value> = stmt
            .query_map([period.clone().unwrap_or_default()], |r| {
                let withheld: bool = r.get(2)?;
                let lq = r.get::<_, Option<f64>>(1)?.filter(|v| v.is_finite() && !withheld);
                Ok(json!({"district_code": r.get::<_, String>(0)?, "lq": lq, "withheld": withheld}))
            })
            .map_err(ingest::Error::from)?
            .collect::<Result<_, _>>()
            .map_err(ingest::Error::from)?;
        Ok(cached(&headers, &tag, || {
            json!({"group": q.group, "period": period, "items": items})
        }))
    })
    .await
}
