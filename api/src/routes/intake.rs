//! The region's intake (a Haven that holds the lake's writer credentials): municipalities send
//! their releases here with the token of one of their users, and read back the restricted
//! figures of their own municipality; the regional admin acts for every municipality
//! (`haven_core::intake`).

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use haven_core::intake::Sender;
use haven_core::users::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Access::{Admin, Tenant};
use super::{Route, route};
use crate::auth::Caller;
use crate::http::private;
use crate::{ApiError, AppState, openapi};

pub(crate) const ROUTES: &[Route] = &[
    route(
        "POST",
        "/api/v1/region/releases",
        Tenant,
        // The limit is the server's setting, applied while the body arrives.
        || post(receive).layer(DefaultBodyLimit::disable()),
        receive_doc,
    ),
    route(
        "GET",
        "/api/v1/region/restricted/{table}",
        Tenant,
        || get(restricted),
        restricted_doc,
    ),
    route(
        "GET",
        "/api/v1/admin/lake/package",
        Admin,
        || get(package),
        package_doc,
    ),
];

/// Who the caller is to the intake: a municipality's user, or the region (its admin, or its
/// operator's `haven` command on the server's machine). A regional officer reads; it does not
/// act for municipalities.
fn sender(caller: Option<&axum::Extension<Caller>>) -> Result<Sender, ApiError> {
    match caller.map(|c| &c.0) {
        Some(Caller::User {
            municipality: Some(m),
            ..
        }) => Ok(Sender::Municipality(m.clone())),
        Some(Caller::User {
            role: Role::Admin, ..
        })
        | Some(Caller::Local) => Ok(Sender::Region),
        Some(Caller::User { .. }) => Err(ApiError::Forbidden(
            "a municipality's release is sent by one of its users or by the regional admin".into(),
        )),
        Some(Caller::Anonymous) | None => Err(ApiError::Unauthorized),
    }
}

fn no_lake() -> ApiError {
    ApiError::NotFound(
        "this server is no region's intake: it has no lake (no [lake] in haven.toml, no HAVEN_LAKE when it started)"
            .into(),
    )
}

/// `POST /api/v1/region/releases`: a municipality's release (the archive `haven lake push
/// --intake` sends) into the lake, for that municipality's users and the regional admin.
async fn receive(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    body: Body,
) -> Result<Response, ApiError> {
    let sender = sender(caller.as_ref())?;
    if s.settings().lake.is_none() {
        return Err(no_lake());
    }
    let limit = s.settings().server.max_upload;
    let packed = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::TooLarge(format!(
            "the release is larger than the server takes ({} MiB: [server] max_upload_megabytes)",
            limit >> 20
        ))
    })?;
    let settings = s.settings().clone();
    let pushed = tokio::task::spawn_blocking(move || {
        haven_core::intake::receive(&settings, &packed, &sender, limit as u64)
    })
    .await??;
    Ok(private(Json(pushed)))
}

fn receive_doc() -> Value {
    json!({
        "operationId": "regionReceive", "summary": "A municipality's release into the region's lake (what `haven lake push --intake` sends): for the users of that municipality and the regional admin. The municipality is read from the release's own indicators.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "description": "The release's ZIP archive, as `haven lake push --intake` packs it (sent as application/zip; any type is taken).", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": {"description": "What reached the lake: its snapshots, tables and rows, and the commits tried again after conflicts with other writers.", "content": {"application/json": {"schema": {"type": "object", "required": ["municipality", "version", "snapshot", "restricted_snapshot", "tables", "rows", "retries", "already"]}}}}, "400": openapi::problem(), "401": openapi::problem(), "403": openapi::problem(), "404": openapi::problem(), "413": openapi::problem()},
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestrictedQuery {
    municipality: Option<String>,
}

/// `GET /api/v1/region/restricted/{table}`: the restricted figures (before the disclosure
/// step) of a municipality, as CSV: a municipality's users read their own only; regional users
/// any, or every municipality's.
async fn restricted(
    State(s): State<AppState>,
    caller: Option<axum::Extension<Caller>>,
    UrlPath(table): UrlPath<String>,
    query: Result<Query<RestrictedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let table = table.strip_suffix(".csv").unwrap_or(&table).to_string();
    let municipality = match caller.as_ref().map(|c| &c.0) {
        Some(Caller::User {
            municipality: Some(own),
            ..
        }) => {
            let asked = q.municipality.unwrap_or_else(|| own.clone());
            Sender::Municipality(own.clone()).may_act_for(&asked)?;
            Some(asked)
        }
        Some(Caller::User { .. } | Caller::Local) => q.municipality,
        Some(Caller::Anonymous) | None => return Err(ApiError::Unauthorized),
    };
    if s.settings().lake.is_none() {
        return Err(no_lake());
    }
    let settings = s.settings().clone();
    let csv = tokio::task::spawn_blocking(move || {
        haven_core::intake::restricted_csv(&settings, &table, municipality.as_deref())
    })
    .await??;
    Ok(private(
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response(),
    ))
}

fn restricted_doc() -> Value {
    json!({
        "operationId": "regionRestricted", "summary": "A table of the region's restricted catalogue (the true figures behind the releases) as CSV: a municipality's users read their own municipality only; regional users any, or all.",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "table", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9_]+(\\.csv)?$"}},
            {"name": "municipality", "in": "query", "schema": {"type": "string"}, "description": "Default: the user's own municipality; for regional users, every municipality."}],
        "responses": {"200": {"description": "The rows, CSV with a header.", "content": {"text/csv": {"schema": {"type": "string"}}}}, "400": openapi::problem(), "401": openapi::problem(), "403": openapi::problem(), "404": openapi::problem()},
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageQuery {
    release: Option<u32>,
}

/// `GET /api/v1/admin/lake/package`: a release of this database packed for a region's intake
/// (`haven lake push --intake` beside a running server). It only reads the database.
async fn package(
    State(s): State<AppState>,
    query: Result<Query<PackageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let settings = s.settings().clone();
    let (municipality, version, packed) = s
        .with_store(move |store| {
            let prepared = haven_core::region::prepare(store, &settings, q.release)?;
            let packed = haven_core::intake::pack(&prepared.release)?;
            Ok((
                prepared.release.municipality.clone(),
                prepared.release.version,
                packed,
            ))
        })
        .await?;
    let name = format!("attachment; filename=\"{municipality}-v{version}.zip\"");
    Ok(private(
        (
            [
                (header::CONTENT_TYPE, "application/zip".to_string()),
                (header::CONTENT_DISPOSITION, name),
            ],
            packed,
        )
            .into_response(),
    ))
}

fn package_doc() -> Value {
    json!({
        "operationId": "lakePackage", "summary": "Admins: a release (default: the latest) packed for the region's intake, restricted figures included (what `haven lake push --intake` sends beside a running server).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "release", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": {"description": "The release's archive.", "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}, "400": openapi::problem(), "403": openapi::problem(), "404": openapi::problem()},
    })
}
