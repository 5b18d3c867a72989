//! Owner outreach, for officers: the cases (one per vacant property contacted), a case with
//! its contacts and history, changes of a case, contacts recorded, an officer's due actions,
//! and letters to owners merged into one PDF. Restricted: nothing here is cached or published.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use haven_core::letters;
use haven_core::outreach::{self, CasesQuery, NewContact, Update};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Officer;
use super::{Route, route};
use crate::auth::{Caller, actor};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/officer/cases",
        Officer,
        || get(cases),
        cases_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/cases/{property_id}",
        Officer,
        || get(case),
        case_doc,
    ),
    route(
        "PATCH",
        "/api/v1/officer/cases/{property_id}",
        Officer,
        || patch(update_case),
        update_case_doc,
    ),
    route(
        "POST",
        "/api/v1/officer/cases/{property_id}/contacts",
        Officer,
        || post(add_contact),
        add_contact_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/due-actions",
        Officer,
        || get(due_actions),
        due_actions_doc,
    ),
    route(
        "GET",
        "/api/v1/officer/letters",
        Officer,
        || get(letter_templates),
        letter_templates_doc,
    ),
    route(
        "POST",
        "/api/v1/officer/letters",
        Officer,
        || post(write_letters),
        write_letters_doc,
    ),
];

/// `GET /api/v1/officer/cases`: the cases, the earliest due first.
pub async fn cases(
    State(s): State<AppState>,
    q: Result<Query<CasesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let list = s
        .with_store(move |store| Ok(outreach::cases(store, &q)?))
        .await?;
    Ok(private(Json(list)))
}

/// `GET /api/v1/officer/cases/{property_id}`: a case with its contacts and history.
pub async fn case(
    State(s): State<AppState>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let case = s
        .with_store(move |store| Ok(outreach::case(store, &id)?))
        .await?;
    Ok(private(Json(case)))
}

/// `PATCH /api/v1/officer/cases/{property_id}` with the fields to change (`null` clears one):
/// the case as it now stands; every change is in its history.
pub async fn update_case(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let update = Update::from_json(&body)?;
    let actor = actor(caller.as_ref());
    let case = s
        .with_writer(move |store| Ok(outreach::update(store, &id, &update, &actor)?))
        .await?;
    Ok(private(Json(case)))
}

/// `POST /api/v1/officer/cases/{property_id}/contacts`: records a contact; the case with it.
pub async fn add_contact(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<NewContact>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(contact) = body?;
    let actor = actor(caller.as_ref());
    let case = s
        .with_writer(move |store| Ok(outreach::add_contact(store, &id, &contact, &actor)?))
        .await?;
    Ok((StatusCode::CREATED, private(Json(case))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// Whose actions (default: the caller's).
    pub officer: Option<String>,
}

/// `GET /api/v1/officer/due-actions`: an officer's next actions, the earliest due first.
pub async fn due_actions(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    q: Result<Query<DueQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let officer = q.officer.unwrap_or_else(|| actor(caller.as_ref()));
    let list = s
        .with_store(move |store| Ok(outreach::due_actions(store, &officer)?))
        .await?;
    Ok(private(Json(list)))
}

/// `GET /api/v1/officer/letters`: the letter templates and their languages.
pub async fn letter_templates() -> Response {
    private(Json(letters::templates())).into_response()
}

/// `POST /api/v1/officer/letters`: one PDF of letters for the properties chosen, one to a
/// page; with `"record": true`, a letter sent is recorded on each case.
pub async fn write_letters(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    body: Result<Json<letters::Request>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let actor = actor(caller.as_ref());
    let municipality = s.settings().release.publisher.clone();
    let name = format!("letters-{}.pdf", req.template);
    let record = req.record;
    let write =
        move |store: &ingest::Store| Ok(letters::write(store, &req, &actor, &municipality)?);
    // Recording the letters writes; writing them only reads.
    let pdf = if record {
        s.with_writer(write).await?
    } else {
        s.with_store(write).await?
    };
    let mut res = private(pdf).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

fn case_schema() -> Value {
    json!({"type": "object", "required": ["property_id", "contacts", "overdue", "source"], "properties": {
        "property_id": {"type": "string"}, "address": {"type": ["string", "null"]},
        "district_code": {"type": ["string", "null"]}, "status": {"type": ["string", "null"]},
        "officer": {"type": ["string", "null"]},
        "owner_answer": {"type": ["string", "null"], "enum": answers_or_null()},
        "next_action": {"type": ["string", "null"]},
        "next_action_due": {"type": ["string", "null"], "format": "date"},
        "contacts": {"type": "integer", "minimum": 0}, "last_contact": {"type": ["string", "null"], "format": "date"},
        "overdue": {"type": "boolean"}, "source": {"type": "string", "enum": ["workspace", "import"]}}})
}

fn answers_or_null() -> Value {
    let mut v: Vec<Value> = outreach::allowed("owner_answer")
        .iter()
        .map(|a| json!(a))
        .collect();
    v.push(Value::Null);
    Value::Array(v)
}

fn property_param() -> Value {
    json!({"name": "property_id", "in": "path", "required": true, "schema": {"type": "string"}})
}

/// The OpenAPI operation of `GET /api/v1/officer/cases`.
fn cases_doc() -> Value {
    json!({
        "operationId": "outreachCases", "summary": "Officers: owner outreach cases, the earliest due first.",
        "security": [{"bearer": []}],
        "parameters": [
            openapi::query("officer", "Only this officer's cases.", json!({"type": "string"})),
            openapi::query("owner_answer", "Only cases with this answer (none: no answer yet).", json!({"type": "string"})),
            openapi::query("district", "Only this district.", json!({"type": "string"})),
            openapi::query("due_by", "Only cases whose next action is due on or before this date.", json!({"type": "string", "format": "date"})),
            openapi::query("limit", "Cases.", json!({"type": "integer", "minimum": 1, "maximum": outreach::MAX_CASES, "default": 1000})),
        ],
        "responses": {"200": {"description": "Cases.", "content": {"application/json": {"schema": {"type": "array", "items": case_schema()}}}}, "400": openapi::problem(), "401": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/cases/{property_id}`.
fn case_doc() -> Value {
    let mut schema = case_schema();
    schema["required"] = json!(["property_id", "contacts_list", "history"]);
    schema["properties"]["contacts_list"] = json!({"type": "array", "items": {"type": "object", "required": ["contact_id", "contact_date", "channel", "outcome", "source"]}});
    schema["properties"]["history"] =
        json!({"type": "array", "items": {"type": "object", "required": ["at", "actor", "field"]}});
    json!({
        "operationId": "outreachCase", "summary": "Officers: a property's outreach case with its contacts and the history of its changes (who, when, from, to).",
        "security": [{"bearer": []}],
        "parameters": [property_param()],
        "responses": {"200": {"description": "The case.", "content": {"application/json": {"schema": schema}}}, "401": openapi::problem(), "404": openapi::problem()},
    })
}

/// The OpenAPI operation of `PATCH /api/v1/officer/cases/{property_id}`.
fn update_case_doc() -> Value {
    json!({
        "operationId": "updateOutreachCase", "summary": "Officers: change a case (a field left out stays, null clears it); each change is recorded with who and when.",
        "security": [{"bearer": []}],
        "parameters": [property_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
            "officer": {"type": ["string", "null"]}, "owner_answer": {"type": ["string", "null"], "enum": answers_or_null()},
            "next_action": {"type": ["string", "null"]}, "next_action_due": {"type": ["string", "null"], "format": "date"}}}}}},
        "responses": {"200": {"description": "The case as it now stands.", "content": {"application/json": {"schema": case_schema()}}}, "400": openapi::problem(), "401": openapi::problem(), "404": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/officer/cases/{property_id}/contacts`.
fn add_contact_doc() -> Value {
    let list = |f: &str| json!(outreach::allowed(f));
    json!({
        "operationId": "addOutreachContact", "summary": "Officers: record a contact with the owner (letter, call, e-mail, visit, meeting).",
        "security": [{"bearer": []}],
        "parameters": [property_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["channel", "outcome"], "additionalProperties": false, "properties": {
            "contact_date": {"type": "string", "format": "date", "description": "Today when left out; never in the future."},
            "channel": {"type": "string", "enum": list("channel")}, "outcome": {"type": "string", "enum": list("outcome")},
            "letter": {"type": "string"}, "note": {"type": "string", "maxLength": 500}}}}}},
        "responses": {"201": {"description": "The case with the contact.", "content": {"application/json": {"schema": case_schema()}}}, "400": openapi::problem(), "401": openapi::problem(), "404": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/due-actions`.
fn due_actions_doc() -> Value {
    json!({
        "operationId": "dueActions", "summary": "Officers: an officer's next actions (the caller's unless told), the earliest due first; overdue ones say so.",
        "security": [{"bearer": []}],
        "parameters": [openapi::query("officer", "Whose actions.", json!({"type": "string"}))],
        "responses": {"200": {"description": "Cases with a next action.", "content": {"application/json": {"schema": {"type": "array", "items": case_schema()}}}}, "400": openapi::problem(), "401": openapi::problem()},
    })
}

/// The OpenAPI operation of `GET /api/v1/officer/letters`.
fn letter_templates_doc() -> Value {
    json!({
        "operationId": "letterTemplates", "summary": "Officers: the letter templates and the languages each is written in.",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "Templates.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["name", "languages"]}}}}}, "401": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/officer/letters`.
fn write_letters_doc() -> Value {
    json!({
        "operationId": "writeLetters", "summary": "Officers: letters to the owners of the properties chosen, merged from a template into one PDF to print (one letter to a page); with record, a letter sent is recorded on each case.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["property_ids", "template", "lang"], "additionalProperties": false, "properties": {
            "property_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": letters::MAX_LETTERS},
            "template": {"type": "string"}, "lang": {"type": "string", "enum": ["en", "nl"]}, "record": {"type": "boolean", "default": false}}}}}},
        "responses": {"200": {"description": "The letters.", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}, "400": openapi::problem(), "401": openapi::problem(), "404": openapi::problem()},
    })
}
