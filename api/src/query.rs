//! The query API the dashboard and researchers read: published indicators with keyset paging,
//! and the indicator registry. Every answer carries an ETag derived from the analysis run it
//! was read from, answers 304 to a matching If-None-Match, and sets Cache-Control.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use duckdb::types::Value;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

/// Lists return at most this many items per page.
pub(crate) const MAX_LIMIT: usize = 1000;
pub(crate) const DEFAULT_LIMIT: usize = 100;
const CACHE_CONTROL: &str = "public, max-age=60, must-revalidate";

/// The filters and page of `GET /api/v1/indicators`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorQuery {
    /// District code, or the municipality's code.
    pub area: Option<String>,
    /// `district` or `municipality`.
    pub level: Option<String>,
    /// Month `YYYY-MM`; `from`/`to` bound a range (inclusive).
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Indicator ids, comma-separated (default: all).
    pub indicator: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct IndicatorValue {
    pub area_code: String,
    pub level: String,
    pub period: String,
    pub indicator: String,
    /// Null when withheld (or not defined, as a rate over nothing).
    pub value: Option<f64>,
    /// Withheld by small-cell suppression: never shown as 0.
    pub withheld: bool,
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items matching the filters, over all pages.
    pub total: u64,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The version of the published indicators: when availability last ran, and with what.
pub(crate) fn data_version(conn: &duckdb::Connection) -> Result<String, ApiError> {
    let v: Option<String> = conn
        .query_row(
            "SELECT max(computed_at)::VARCHAR || ' ' || max(md5(fingerprint)) || ' ' || coalesce((SELECT max(version) FROM releases), 0)
             FROM analysis_runs WHERE part = 'availability'",
            [],
            |r| r.get(0),
        )
        .map_err(ingest::Error::from)?;
    Ok(v.unwrap_or_default())
}

/// A strong ETag over the data version and the request (FNV-1a).
pub(crate) fn etag(version: &str, request: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in version.bytes().chain([0u8]).chain(request.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

/// The ETag of a request over the published analysis; 404 while no analysis has run.
pub(crate) fn analysis_etag(store: &ingest::Store, request: &str) -> Result<String, ApiError> {
    if !store.has_table("indicators_published")? {
        return Err(ApiError::NotFound(
            "nothing has been released yet: load the data, run `haven analyze`, then `haven publish`"
                .into(),
        ));
    }
    Ok(etag(&data_version(store.conn())?, request))
}

/// 304 with the validators when the client holds this ETag already; `None` to answer in full.
pub(crate) fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    holds(headers, tag).then(|| cached(headers, tag, || ()))
}

/// Whether the client's If-None-Match names this ETag.
pub(crate) fn holds(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// The answer with its validators, or 304 when the client holds it already.
pub(crate) fn cached<T: Serialize>(
    headers: &HeaderMap,
    tag: &str,
    body: impl FnOnce() -> T,
) -> Response {
    let matches = holds(headers, tag);
    let tag_value = HeaderValue::from_str(tag).unwrap_or(HeaderValue::from_static("\"0\""));
    let validators = [
        (header::ETAG, tag_value),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ];
    if matches {
        (StatusCode::NOT_MODIFIED, validators).into_response()
    } else {
        (validators, Json(body())).into_response()
    }
}

/// Opaque, URL-safe cursor: the hex of the last item's key.
pub(crate) fn encode_cursor(key: &[&str]) -> String {
    key.join("\u{1f}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<Vec<String>, ApiError> {
    let bad = || ApiError::BadRequest(format!("cursor '{cursor}' is not one this API gave out"));
    if !cursor.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let parts: Vec<String> = text.split('\u{1f}').map(String::from).collect();
    if parts.len() == 3 {
        Ok(parts)
    } else {
        Err(bad())
    }
}

pub(crate) fn month(name: &str, v: &Option<String>) -> Result<(), ApiError> {
    match v {
        Some(p)
            if !(p.len() == 7
                && p.as_bytes()[4] == b'-'
                && p.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_digit())) =>
        {
            Err(ApiError::BadRequest(format!(
                "{name} '{p}' is not a month written YYYY-MM"
            )))
        }
        _ => Ok(()),
    }
}

/// The indicator ids of a comma-separated list (default: every indicator of the registry).
pub(crate) fn indicator_ids(list: &Option<String>) -> Result<Vec<&'static str>, ApiError> {
    match list {
        None => Ok(analytics::registry::INDICATORS
            .iter()
            .map(|i| i.id)
            .collect()),
        Some(list) => {
            list.split(',')
                .map(|id| {
                    analytics::registry::get(id.trim()).map(|i| i.id).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "unknown indicator '{id}'; GET /api/v1/indicators/registry lists them"
                    ))
                })
                })
                .collect()
        }
    }
}

/// A page size from 1 to [`MAX_LIMIT`] ([`DEFAULT_LIMIT`] when not given).
pub(crate) fn limit_of(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

pub(crate) use haven_core::json_value;

/// A page to read: `base` (a query with `params`) ordered by the three `key` columns, after the
/// key a cursor holds.
#[derive(Clone, Copy)]
pub(crate) struct Keyset<'a> {
    pub base: &'a str,
    pub params: &'a [Value],
    pub key: [&'a str; 3],
    pub after: Option<&'a [String]>,
    pub limit: usize,
}

/// One page, with the total of all pages.
pub(crate) fn keyset_page<T>(
    conn: &duckdb::Connection,
    page: Keyset<'_>,
    row: impl FnMut(&duckdb::Row<'_>) -> duckdb::Result<T>,
    key_of: impl Fn(&T) -> [&str; 3],
) -> Result<Page<T>, ApiError> {
    let Keyset {
        base,
        params,
        key,
        after,
        limit,
    } = page;
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM ({base})"),
            duckdb::params_from_iter(params.iter()),
            |r| r.get(0),
        )
        .map_err(ingest::Error::from)?;
    let mut page_params = params.to_vec();
    let [a, b, c] = key;
    let keyset = match after {
        Some(k) => {
            for v in [&k[0], &k[0], &k[1], &k[1], &k[2]] {
                page_params.push(Value::Text(v.clone()));
            }
            format!("WHERE {a} > ? OR ({a} = ? AND ({b} > ? OR ({b} = ? AND {c} > ?)))")
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT * FROM ({base}) {keyset} ORDER BY {a}, {b}, {c} LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare(&sql).map_err(ingest::Error::from)?;
    let mut items: Vec<T> = stmt
        .query_map(duckdb::params_from_iter(page_params.iter()), row)
        .map_err(ingest::Error::from)?
        .collect::<Result<_, _>>()
        .map_err(ingest::Error::from)?;
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        encode_cursor(&key_of(&items[limit - 1]))
    });
    Ok(Page {
        items,
        total: total as u64,
        next_cursor,
    })
}

/// `GET /api/v1/indicators`: published indicator values, one item per area, month and
/// indicator, ordered by (area, period, indicator) and paged by keyset.
pub async fn indicators(
    state: State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    indicators_from(state, headers, q, false).await
}

/// The indicator query on the published values, or (`restricted`, for officers) on every value
/// before suppression.
pub(crate) async fn indicators_from(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
    restricted: bool,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ids = indicator_ids(&q.indicator)?;
    if let Some(level) = &q.level
        && level != "district"
        && level != "municipality"
    {
        return Err(ApiError::BadRequest(format!(
            "level '{level}' is neither district nor municipality"
        )));
    }
    month("period", &q.period)?;
    month("from", &q.from)?;
    month("to", &q.to)?;
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
            tokio::task::spawn_blocking(answer).await?
        } else {
            answer()
        };
        if let Some(page) = page {
            return Ok(cached(&headers, &tag, || page));
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
        let page = sql_page(store, &q, &ids, after.as_deref(), limit, restricted)?;
        Ok(cached(&headers, &tag, || page))
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

/// The indicator query in SQL, on the published values or (`restricted`) on every value before
/// suppression.
pub(crate) fn sql_page(
    store: &ingest::Store,
    q: &IndicatorQuery,
    ids: &[&str],
    after: Option<&[String]>,
    limit: usize,
    restricted: bool,
) -> Result<Page<IndicatorValue>, ApiError> {
    let (table, withheld) = if restricted {
        ("indicators_monthly", "'' AS withheld")
    } else {
        ("indicators_published", "withheld")
    };
    let conn = store.conn();
    let columns: String = ids.iter().map(|i| format!(", \"{i}\"")).collect();
    let on: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let mut filters = vec!["TRUE".to_string()];
    let mut params: Vec<Value> = Vec::new();
    for (sql, v) in [
        ("area_code = ?", &q.area),
        ("level = ?", &q.level),
        ("period = ?", &q.period),
        ("period >= ?", &q.from),
        ("period <= ?", &q.to),
    ] {
        if let Some(v) = v {
            filters.push(sql.into());
            params.push(Value::Text(v.clone()));
        }
    }
    let base = format!(
        "WITH f AS (SELECT area_code, level, period, {withheld}{columns}
                    FROM {table} WHERE {}),
              long AS (FROM f UNPIVOT INCLUDE NULLS (value FOR indicator IN ({})))
         SELECT area_code, level, period, indicator, value::DOUBLE, list_contains(string_split(withheld, ','), indicator) FROM long",
        filters.join(" AND "),
        on.join(", ")
    );
    keyset_page(
        conn,
        Keyset {
            base: &base,
            params: &params,
            key: ["area_code", "period", "indicator"],
            after,
            limit,
        },
        |r| {
            Ok(IndicatorValue {
                area_code: r.get(0)?,
                level: r.get(1)?,
                period: r.get(2)?,
                indicator: r.get(3)?,
                value: r.get(4)?,
                withheld: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
            })
        },
        |v| [&v.area_code, &v.period, &v.indicator],
    )
}

/// `GET /api/v1/indicators/registry`: every indicator's id, unit, texts, sources, privacy class
/// and aggregation.
pub async fn registry(headers: HeaderMap) -> Response {
    let tag = etag(env!("CARGO_PKG_VERSION"), "registry");
    cached(&headers, &tag, || analytics::registry::INDICATORS)
}
