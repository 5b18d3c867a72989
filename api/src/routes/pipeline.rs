//! The activation pipeline: its public funnel (published tables only), and the whole pipeline
//! with its costs for officers (restricted, never cached).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use haven_core::read::pipeline::{self, PipelineQuery};
use serde_json::{Value, json};

use serde::Deserialize;

use super::Access::{Officer, Public};
use super::{Route, route};
use crate::http::{analysis_etag, cached, described, not_modified, private};
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/pipeline",
        Public,
        || get(funnel),
        funnel_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/pipeline",
        Officer,
        || get(officer),
        officer_doc,
    ),
];

/// The parameters of `GET /api/v1/officer/pipeline`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficerQuery {
    /// A district code; default: the municipality.
    pub district: Option<String>,
}

/// `GET /api/v1/officer/pipeline?district`: every stage (those built on placements too), with
/// the cost per home let and per household housed.
pub async fn officer(
    State(s): State<AppState>,
    q: Result<Query<OfficerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let p = s
        .with_store(move |store| Ok(pipeline::officer(store, q.district.as_deref())?))
        .await?;
    Ok(private(Json(p)))
}

/// `GET /api/v1/pipeline?from&to&district`: homes entering and leaving each public stage of the
/// activation pipeline in the period, with each stage's conversion and median days.
pub async fn funnel(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<PipelineQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let request = format!("pipeline {q:?}");
    s.with_store(move |store| {
        let tag = analysis_etag(store, &request)?;
        if let Some(res) = not_modified(&headers, &tag) {
            return Ok(res);
        }
        let f = pipeline::funnel(store, &q)?;
        Ok(cached(&headers, &tag, || described(f, "pipeline")))
    })
    .await
}

/// The OpenAPI operation of `GET /api/v1/pipeline`.
fn funnel_doc() -> Value {
    let count = json!({"type": ["integer", "null"], "minimum": 0});
    json!({
        "operationId": "pipeline", "summary": "The activation pipeline's funnel: homes entering and leaving each stage from identified to offered in a period, for the municipality or a district, with each stage's conversion to the next and median days (over all published months). The stages from let on are built on placements: they are published per year for the municipality only, through the disclosure step (years).",
        "parameters": [
            openapi::month_param("from", "First month (inclusive); default: the first published."),
            openapi::month_param("to", "Last month (inclusive); default: the last published."),
            openapi::query("district", "A district code; default: the municipality.", json!({"type": "string"})),
        ],
        "responses": {
            "200": openapi::ok("The funnel.", "application/json", json!({"type": "object", "required": ["from", "to", "district", "months", "stages", "years"], "properties": {
                "years": {"type": "array", "description": "For the municipality (empty for a district), per complete calendar year of the last release: households housed in homes of the vacancy register, homes let for the first time, tenancies sustained and the cost per home let and per household housed. Built on placements: protected by the disclosure step, a withheld figure is null and named in withheld.", "items": {"type": "object", "required": ["year", "households_housed", "homes_let", "tenancies_sustained", "cost_per_home_let_eur", "cost_per_household_housed_eur", "withheld"], "properties": {
                    "year": {"type": "string"}, "households_housed": count, "homes_let": count, "tenancies_sustained": count,
                    "cost_per_home_let_eur": {"type": ["number", "null"], "minimum": 0}, "cost_per_household_housed_eur": {"type": ["number", "null"], "minimum": 0},
                    "withheld": {"type": "array", "items": {"type": "string"}}}}},
                "from": {"type": ["string", "null"]}, "to": {"type": ["string", "null"]}, "district": {"type": ["string", "null"]},
                "months": {"type": "array", "items": {"type": "string"}},
                "stages": {"type": "array", "items": {"type": "object", "required": ["stage", "entered", "left", "reached", "converted", "conversion", "median_days", "timed"], "properties": {
                    "stage": {"type": "string", "enum": analytics_stages()},
                    "entered": {"type": "integer", "minimum": 0}, "left": count,
                    "reached": count, "converted": count,
                    "conversion": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                    "median_days": {"type": ["number", "null"], "minimum": 0}, "timed": count}}}}})),
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/pipeline`.
fn officer_doc() -> Value {
    let num = json!({"type": ["number", "null"]});
    json!({
        "operationId": "officerPipeline", "summary": "Officers: every stage of the activation pipeline (let and tenancy sustained included) for the municipality or a district, with the cost per home let and per household housed (renovation plus incentives), by owner type and incentive type.",
        "security": [{"bearer": []}],
        "parameters": [openapi::query("district", "A district code; default: the municipality.", json!({"type": "string"}))],
        "responses": {
            "200": {"description": "The pipeline.", "content": {"application/json": {"schema": {"type": "object", "required": ["district", "stages", "costs"], "properties": {
                "district": {"type": ["string", "null"]},
                "stages": {"type": "array", "items": {"type": "object", "required": ["stage", "reached", "converted", "conversion", "median_days", "timed"], "properties": {
                    "stage": {"type": "string", "enum": analytics::pipeline::STAGES}, "reached": {"type": "integer"}, "converted": {"type": ["integer", "null"]},
                    "conversion": num, "median_days": num, "timed": {"type": "integer"}}}},
                "costs": {"type": "array", "items": {"type": "object", "required": ["scope_type", "scope", "homes_let", "households", "cost_eur", "cost_per_home_eur", "cost_per_household_eur"], "properties": {
                    "scope_type": {"type": "string"}, "scope": {"type": "string"}, "homes_let": {"type": "integer"}, "households": {"type": "integer"},
                    "cost_eur": {"type": "number"}, "cost_per_home_eur": num, "cost_per_household_eur": num}}}}}}}},
            "400": openapi::problem(), "401": openapi::problem(), "404": openapi::problem(),
        },
    })
}

fn analytics_stages() -> &'static [&'static str] {
    &analytics::pipeline::STAGES[..analytics::pipeline::FIRST_PERSONAL_STAGE]
}
