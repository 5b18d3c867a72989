//! The audit log, for admins.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use haven_core::read::limit_of;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::Admin;
use super::{Route, route};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[route(
    "GET",
    "/api/v1/admin/audit",
    Admin,
    || get(audit),
    audit_doc,
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/admin/audit`: the latest restricted reads and uploads, newest first.
pub async fn audit(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let limit = limit_of(q.limit)?;
    let log = s.audit.clone();
    let entries = s
        .with_writer(move |store| {
            crate::audit::flush(&log, store)?;
            Ok(crate::audit::entries(store, q.actor.as_deref(), limit)?)
        })
        .await?;
    Ok(private(Json(entries)))
}

/// The OpenAPI operation of `GET /api/v1/admin/audit`.
fn audit_doc() -> Value {
    json!({
        "operationId": "audit", "summary": "Admins: the latest restricted reads and uploads, newest first.",
        "security": [{"bearer": []}],
        "parameters": [openapi::query("actor", "Only this user.", json!({"type": "string"})), openapi::query("limit", "Entries.", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}))],
        "responses": {"200": {"description": "Entries.", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "required": ["at", "actor", "role", "action", "target", "status"]}}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}
