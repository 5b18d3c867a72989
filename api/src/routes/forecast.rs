//! The needs forecast: from the release for everyone, from the register for officers.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::forecast;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::{Officer, Public};
use super::{Route, route};
use crate::http::{analysis_etag, cached, described, not_modified, private};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/forecast",
        Public,
        || get(published),
        forecast_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/forecast",
        Officer,
        || get(live),
        forecast_live_doc,
    ),
    route(
        "GET",
        "/api/v1/forecast/backtest",
        Public,
        || get(backtest_published),
        backtest_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/forecast/backtest",
        Officer,
        || get(backtest_live),
        backtest_live_doc,
    ),
];

/// The parameters of both forecast routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Months ahead, 1 to 12 (default 12).
    pub months: Option<usize>,
    /// Announced arrivals, `YYYY-MM:persons` separated by commas.
    pub announced: Option<String>,
}

impl ForecastQuery {
    fn read(&self) -> Result<(usize, Vec<forecast::AnnouncedArrival>), ApiError> {
        let announced = forecast::parse_announced(self.announced.as_deref().unwrap_or(""))?;
        Ok((self.months.unwrap_or(forecast::HORIZON), announced))
    }
}

/// `GET /api/v1/forecast?months=12&announced=2027-01:120`: persons in placements over the next
/// months with 80 % and 95 % intervals, from the latest release's published monthly figures
/// only, and what they ask of the homes: persons, homes and bedrooms needed, the places
/// available and the shortfall, month by month.
pub async fn published(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<ForecastQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let (months, announced) = q.read()?;
    let request = format!("forecast {months} {:?}", q.announced);
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let result = forecast::forecast(store, forecast::Basis::Published, months, &announced)?;
        Ok(cached(&headers, &tag, || described(result, "forecast")))
    })
    .await
}

/// `GET /api/v1/officer/forecast`: the same from the register's own monthly figures and
/// household mix, with the free reception places and the households arriving per month.
pub async fn live(
    State(s): State<AppState>,
    q: Result<Query<ForecastQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let (months, announced) = q.read()?;
    let result = s
        .with_store(move |store| {
            Ok(forecast::forecast(
                store,
                forecast::Basis::Live,
                months,
                &announced,
            )?)
        })
        .await?;
    Ok(private(Json(result)))
}

/// `GET /api/v1/forecast/backtest`: how the public forecast did on its own history: from every
/// month with a year behind it, fitted on the past alone, its MASE at 3, 6 and 12 months ahead
/// beside the last value and the value a year before, and the share of outcomes inside its
/// 80 % and 95 % intervals.
pub async fn backtest_published(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.with_store(move |store| {
        let tag = analysis_etag(store, "forecast backtest")?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let result = forecast::backtest(store, forecast::Basis::Published)?;
        Ok(cached(&headers, &tag, || described(result, "forecast")))
    })
    .await
}

/// `GET /api/v1/officer/forecast/backtest`: the same on the register's own history.
pub async fn backtest_live(State(s): State<AppState>) -> Result<Response, ApiError> {
    let result = s
        .with_store(move |store| Ok(forecast::backtest(store, forecast::Basis::Live)?))
        .await?;
    Ok(private(Json(result)))
}

fn parameters() -> Value {
    json!([
        openapi::query(
            "months",
            "Months ahead.",
            json!({"type": "integer", "minimum": 1, "maximum": 12, "default": 12})
        ),
        openapi::query(
            "announced",
            "Announced arrivals, YYYY-MM:persons separated by commas (2027-01:120,2027-03:80), each in the months forecast.",
            json!({"type": "string", "pattern": "^(\\d{4}-\\d{2}:\\d+)(,\\d{4}-\\d{2}:\\d+)*$"})
        ),
    ])
}

/// The OpenAPI operation of `GET /api/v1/forecast`.
fn forecast_doc() -> Value {
    json!({
        "operationId": "forecast", "summary": "The needs forecast: persons in placements over the next months with 80 % and 95 % prediction intervals (from the published monthly figures only), and the persons, homes and bedrooms they need against the places available.",
        "parameters": parameters(),
        "responses": {
            "200": openapi::ok("The forecast.", "application/json", json!({"$ref": "#/components/schemas/Forecast"})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/forecast`.
fn forecast_live_doc() -> Value {
    json!({
        "operationId": "forecastLive", "summary": "Officers: the needs forecast from the register's own figures, with households arriving per month and free reception places.",
        "security": [{"bearer": []}],
        "parameters": parameters(),
        "responses": {
            "200": openapi::ok("The forecast.", "application/json", json!({"$ref": "#/components/schemas/Forecast"})),
            "400": openapi::problem(), "401": openapi::problem(), "403": openapi::problem(), "404": openapi::problem(),
        },
    })
}

fn backtest_schema() -> Value {
    json!({"type": "object", "required": ["months", "origins", "scores"], "properties": {
        "months": {"type": "integer"}, "origins": {"type": "integer"},
        "scores": {"type": "array", "items": {"type": "object", "required": ["method", "horizon", "mase", "forecasts"], "properties": {
            "method": {"type": "string", "enum": ["ets", "naive", "seasonal_naive"]},
            "horizon": {"type": "integer", "enum": [3, 6, 12]}, "mase": {"type": "number", "minimum": 0},
            "coverage_80": {"type": ["number", "null"], "description": "Share of outcomes inside the 80 % interval as published (calibrated on the errors known at each origin)."},
            "coverage_95": {"type": ["number", "null"]},
            "model_coverage_80": {"type": ["number", "null"], "description": "The same for the model's own interval, before calibration."},
            "model_coverage_95": {"type": ["number", "null"]},
            "forecasts": {"type": "integer"}}}}}})
}

/// The OpenAPI operation of `GET /api/v1/forecast/backtest`.
fn backtest_doc() -> Value {
    json!({
        "operationId": "forecastBacktest", "summary": "How the public forecast did on its own history (rolling origin): MASE at 3, 6 and 12 months ahead beside the naive and seasonal-naive baselines, and the coverage of its intervals.",
        "responses": {
            "200": openapi::ok("The backtest.", "application/json", backtest_schema()),
            "304": openapi::not_modified(), "404": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/forecast/backtest`.
fn backtest_live_doc() -> Value {
    json!({
        "operationId": "forecastBacktestLive", "summary": "Officers: the backtest of the forecast on the register's own history.",
        "security": [{"bearer": []}],
        "responses": {
            "200": openapi::ok("The backtest.", "application/json", backtest_schema()),
            "401": openapi::problem(), "403": openapi::problem(), "404": openapi::problem(),
        },
    })
}
