//! Restricted views for signed-in officers — indicators before suppression, vacant properties
//! with addresses — and user management and the audit log for admins. Access is checked by
//! `auth::guard` from the route table; these handlers only answer, with `private` caching.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use haven_core::read::indicators::IndicatorQuery;
use haven_core::read::limit_of;
use haven_core::read::officer::{self, PropertiesQuery};
use serde::{Deserialize, Serialize};

use crate::query::indicators_from;
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

/// `GET /api/v1/officer/vacant-properties`: vacant property rows with address and location,
/// ordered by property id and paged by keyset.
pub async fn vacant_properties(
    State(s): State<AppState>,
    q: Result<Query<PropertiesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit)?;
    let after = q.check()?;
    let page = s
        .with_store(move |store| {
            Ok(officer::vacant_properties(
                store,
                &q,
                after.as_deref(),
                limit,
            )?)
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
            Ok(crate::audit::entries(store, q.actor.as_deref(), limit)?)
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
