//! The preparedness scenario: from the release for everyone, from the register for admins.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::scenario;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::{Admin, Public};
use super::{Route, route};
use crate::http::{analysis_etag, cached, described, not_modified, private};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/scenario",
        Public,
        || get(scenario),
        scenario_doc,
    ),
    route(
        "GET",
        "/api/v1/admin/scenario",
        Admin,
        || get(live),
        scenario_live_doc,
    ),
];

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
    let Query(q) = q?;
    let request = format!("scenario {} {:?}", q.inflow, q.lq_cap);
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let result = scenario::scenario(store, q.inflow, q.lq_cap, scenario::Basis::Published)?;
        Ok(cached(&headers, &tag, || described(result, "scenario")))
    })
    .await
}

/// `GET /api/v1/admin/scenario?inflow=N&lq_cap=1.5`: the preparedness scenario from the
/// register's own figures (current placements and their household mix, the location quotients
/// after the allocation included), as `haven scenario` shows it to whoever holds the database.
pub async fn live(
    State(s): State<AppState>,
    q: Result<Query<ScenarioQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let result = s
        .with_store(move |store| {
            Ok(scenario::scenario(
                store,
                q.inflow,
                q.lq_cap,
                scenario::Basis::Live,
            )?)
        })
        .await?;
    Ok(private(Json(result)))
}

/// The OpenAPI operation of `GET /api/v1/scenario`.
fn scenario_doc() -> Value {
    json!({
        "operationId": "scenario", "summary": "The preparedness scenario: how many of an inflow can be housed within 30 and 90 days, where and at what cost, with and without a cap on concentration.",
        "parameters": [
            {"name": "inflow", "in": "query", "required": true, "description": "Persons arriving.", "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
            openapi::query("lq_cap", "Highest location quotient of persons placed allowed in a district.", json!({"type": "number", "minimum": 1, "maximum": 10, "default": 1.5})),
        ],
        "responses": {
            "200": openapi::ok("The scenario.", "application/json", json!({"$ref": "#/components/schemas/Scenario"})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/admin/scenario`.
fn scenario_live_doc() -> Value {
    json!({
        "operationId": "scenarioLive", "summary": "Admins: the preparedness scenario from the register's own figures, location quotients after the allocation included (haven scenario beside a running server).",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "inflow", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
            {"name": "lq_cap", "in": "query", "schema": {"type": "number", "minimum": 1, "maximum": 10, "default": 1.5}}],
        "responses": {"200": {"description": "The scenario.", "content": {"application/json": {"schema": {"type": "object", "required": ["params", "fastest", "low_concentration"]}}}}, "400": openapi::problem(), "401": openapi::problem(), "403": openapi::problem()},
    })
}
