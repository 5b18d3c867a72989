//! The query API the dashboard and researchers read: published indicators with keyset paging,
//! and the indicator registry. Every answer carries an ETag derived from the analysis run it
//! was read from, answers 304 to a matching If-None-Match, and sets Cache-Control.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use haven_core::read::indicators::{self, IndicatorQuery};
use haven_core::read::{self, decode_cursor, indicator_ids, limit_of};
use serde::Serialize;

use crate::{ApiError, AppState};

const CACHE_CONTROL: &str = "public, max-age=60, must-revalidate";

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
    Ok(etag(&read::released_version(store)?, request))
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
        let page = indicators::page(store, &q, &ids, after.as_deref(), limit, restricted)?;
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

/// `GET /api/v1/indicators/registry`: every indicator's id, unit, texts, sources, privacy class
/// and aggregation.
pub async fn registry(headers: HeaderMap) -> Response {
    let tag = etag(env!("CARGO_PKG_VERSION"), "registry");
    cached(&headers, &tag, || analytics::registry::INDICATORS)
}
