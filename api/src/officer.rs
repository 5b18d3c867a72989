//! Restricted views for signed-in officers — indicators before suppression, vacant properties
//! with addresses — and user management and the audit log for admins. Access is checked by
//! `auth::guard` from the route table; these handlers only answer, with `private` caching.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use duckdb::types::Value as Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::query::{
    IndicatorQuery, Page, decode_cursor, encode_cursor, indicators_from, json_value, limit_of,
};
use crate::{ApiError, AppState};
use haven_core::users::{Role, UserInfo};

/// `GET /api/v1/officer/indicators`: the same query as the public one, on every value before
/// suppression (the `indicators_monthly` view).
pub async fn indicators(
    state: State<AppState>,
    headers: HeaderMap,
    q: Result<Query<IndicatorQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    indicators_from(state, headers, q, true).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertiesQuery {
    /// Only this district.
    pub district: Option<String>,
    /// Only this status (e.g. vacant, owner_contacted).
    pub status: Option<String>,
    /// Only this owner type (e.g. municipal, private).
    pub owner_type: Option<String>,
    /// Only this condition (e.g. ready, minor_renovation).
    pub condition: Option<String>,
    /// Only properties vacant for at least this many months.
    pub min_months_vacant: Option<u32>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/officer/vacant-properties`: vacant property rows with address and location,
/// ordered by property id and paged by keyset.
pub async fn vacant_properties(
    State(s): State<AppState>,
    q: Result<Query<PropertiesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit)?;
    if q.min_months_vacant.is_some_and(|m| m > 1200) {
        return Err(ApiError::BadRequest(
            "min_months_vacant must be from 0 to 1200".into(),
        ));
    }
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            decode_cursor(c).and_then(|k| {
                k.into_iter()
                    .next()
                    .ok_or_else(|| ApiError::BadRequest("bad cursor".into()))
            })
        })
        .transpose()?;
    let page = s
        .with_store(move |store| {
            let schema = ingest::schema::get("vacant_properties")?;
            let columns: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
            let mut filters = vec!["TRUE"];
            let mut params: Vec<Db> = Vec::new();
            for (sql, v) in [
                ("district_code = ?", &q.district),
                ("status = ?", &q.status),
                ("owner_type = ?", &q.owner_type),
                ("condition = ?", &q.condition),
            ] {
                if let Some(v) = v {
                    filters.push(sql);
                    params.push(Db::Text(v.clone()));
                }
            }
            if let Some(months) = q.min_months_vacant {
                filters.push("vacant_since <= current_date - to_months(?::INTEGER)");
                params.push(Db::BigInt(i64::from(months)));
            }
            let conn = store.conn();
            let total: i64 = conn
                .query_row(
                    &format!(
                        "SELECT count(*) FROM vacant_properties WHERE {}",
                        filters.join(" AND ")
                    ),
                    duckdb::params_from_iter(params.iter()),
                    |r| r.get(0),
                )
                .map_err(ingest::Error::from)?;
            if let Some(a) = &after {
                filters.push("property_id > ?");
                params.push(Db::Text(a.clone()));
            }
            let sql = format!(
                "SELECT {} FROM vacant_properties WHERE {} ORDER BY property_id LIMIT {}",
                columns
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                filters.join(" AND "),
                limit + 1
            );
            let mut stmt = conn.prepare(&sql).map_err(ingest::Error::from)?;
            let mut rows = stmt
                .query(duckdb::params_from_iter(params.iter()))
                .map_err(ingest::Error::from)?;
            let mut items = Vec::new();
            while let Some(r) = rows.next().map_err(ingest::Error::from)? {
                let mut o = serde_json::Map::new();
                for (i, c) in columns.iter().enumerate() {
                    o.insert(
                        c.to_string(),
                        json_value(&r.get(i).map_err(ingest::Error::from)?),
                    );
                }
                items.push(Value::Object(o));
            }
            let next_cursor = (items.len() > limit).then(|| {
                items.truncate(limit);
                encode_cursor(&[
                    items[limit - 1]["property_id"].as_str().unwrap_or(""),
                    "",
                    "",
                ])
            });
            Ok(Page {
                items,
                total: total as u64,
                next_cursor,
            })
        })
        .await?;
    Ok(private(Json(page)))
}

/// Restricted answers are never stored by shared caches.
pub(crate) fn private(body: impl IntoResponse) -> Response {
    (
        [(axum::http::header::CACHE_CONTROL, "private, no-store")],
        body,
    )
        .into_response()
}

/// `GET /api/v1/admin/users`.
pub async fn users(State(s): State<AppState>) -> Result<Response, ApiError> {
    let users: Vec<UserInfo> = s
        .with_store(|store| Ok(haven_core::users::list_users(store)?))
        .await?;
    Ok(private(Json(users)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub role: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedUser {
    pub name: String,
    pub role: Role,
    /// Shown once: only its hash is stored.
    pub token: String,
}

/// `POST /api/v1/admin/users` with `{"name": …, "role": "officer"|"admin"}`: the new user's
/// token, shown once.
pub async fn add_user(
    State(s): State<AppState>,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(u) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let role: Role = u.role.parse()?;
    let name = u.name.clone();
    let token = s
        .with_writer(move |store| Ok(haven_core::users::add_user(store, &name, role)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        private(Json(CreatedUser {
            name: u.name,
            role,
            token,
        })),
    )
        .into_response())
}

/// `DELETE /api/v1/admin/users/{name}`: the user's token stops working at once. Admins cannot
/// remove themselves (so an instance always keeps the admin who manages it).
pub async fn remove_user(
    State(s): State<AppState>,
    UrlPath(name): UrlPath<String>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
) -> Result<Response, ApiError> {
    if let Some(axum::Extension(crate::auth::Caller::User { name: me, .. })) = &caller
        && *me == name
    {
        return Err(ApiError::BadRequest(
            "you cannot remove your own account; another admin can".into(),
        ));
    }
    s.with_writer(move |store| Ok(haven_core::users::remove_user(store, &name)?))
        .await?;
    s.forget_verified_tokens();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub query: String,
    pub status: i32,
}

/// `GET /api/v1/admin/audit`: the latest restricted reads and uploads, newest first.
pub async fn audit(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit)?;
    let log = s.audit.clone();
    let entries = s
        .with_writer(move |store| {
            crate::audit::flush(&log, store)?;
            let mut stmt = store
                .conn()
                .prepare(&format!(
                    "SELECT strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ'), actor, role, action, target, query, status
                     FROM audit_log WHERE ? IS NULL OR actor = ? ORDER BY occurred_at DESC LIMIT {limit}"
                ))
                .map_err(ingest::Error::from)?;
            let rows = stmt
                .query_map([&q.actor, &q.actor], |r| {
                    Ok(AuditEntry {
                        at: r.get(0)?,
                        actor: r.get(1)?,
                        role: r.get(2)?,
                        action: r.get(3)?,
                        target: r.get(4)?,
                        query: r.get(5)?,
                        status: r.get(6)?,
                    })
                })
                .map_err(ingest::Error::from)?;
            Ok(rows
                .collect::<Result<Vec<_>, _>>()
                .map_err(ingest::Error::from)?)
        })
        .await?;
    Ok(private(Json(entries)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRunsQuery {
    pub job: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchesQuery {
    pub dataset: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/officer/batches`: the latest loads (uploads, command line, scheduled imports),
/// newest first, with their outcome and counts.
pub async fn batches(
    State(s): State<AppState>,
    q: Result<Query<BatchesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit)?;
    let batches = s
        .with_store(move |store| Ok(store.batches(q.dataset.as_deref(), limit)?))
        .await?;
    Ok(private(Json(batches)))
}

/// `GET /api/v1/officer/batches/{batch}/rejected`: the rejected rows of a load, in line order.
pub async fn rejected_rows(
    State(s): State<AppState>,
    UrlPath(batch): UrlPath<String>,
) -> Result<Response, ApiError> {
    let id: i64 = batch
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("batch '{batch}' is not a number")))?;
    let rows = s
        .with_store(move |store| Ok(store.rejected_rows(id)?))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no batch {id}")))?;
    Ok(private(Json(rows)))
}

/// `GET /api/v1/officer/jobs`: the latest runs of the scheduled imports, newest first.
pub async fn job_runs(
    State(s): State<AppState>,
    q: Result<Query<JobRunsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit)?;
    let runs = s
        .with_store(move |store| Ok(jobs::runs(store, q.job.as_deref(), limit)?))
        .await?;
    Ok(private(Json(runs)))
}
