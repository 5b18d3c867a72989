//! Users, for admins: list, add (the token answered once), rotate a token, remove.

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use haven_core::users::{DEFAULT_TOKEN_DAYS, Role, UserInfo};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Access::Admin;
use super::{Route, route};
use crate::http::private;
use crate::{ApiError, AppState, openapi};

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/admin/users",
        Admin,
        || get(users),
        list_users_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/users",
        Admin,
        || post(add_user),
        add_user_doc,
    ),
    route(
        "POST",
        "/api/v1/admin/users/{name}/rotate",
        Admin,
        || post(rotate_token),
        rotate_token_doc,
    ),
    route(
        "DELETE",
        "/api/v1/admin/users/{name}",
        Admin,
        || delete(remove_user),
        remove_user_doc,
    ),
];

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
    /// Days the token works (0: no expiry); absent: [`DEFAULT_TOKEN_DAYS`].
    pub expires_in_days: Option<u32>,
    /// The municipality (tenant) the user belongs to, on a region's Haven; absent: the whole
    /// database.
    pub municipality: Option<String>,
}

/// The body of a rotation (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Days the new token works (0: no expiry); absent: [`DEFAULT_TOKEN_DAYS`].
    pub expires_in_days: Option<u32>,
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
    let Json(u) = body?;
    let role: Role = u.role.parse()?;
    let name = u.name.clone();
    let days = u.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    let municipality = u.municipality.clone();
    let token = s
        .with_writer(move |store| {
            Ok(haven_core::users::add_user_of(
                store,
                &name,
                role,
                days,
                municipality.as_deref(),
            )?)
        })
        .await?;
    s.forget_verified_tokens();
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

/// `POST /api/v1/admin/users/{name}/rotate`, optionally with `{"expires_in_days": n}`: a new
/// token for the user, answered once; the old one stops working at once.
pub async fn rotate_token(
    State(s): State<AppState>,
    UrlPath(name): UrlPath<String>,
    body: Result<Json<Rotation>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    use axum::extract::rejection::JsonRejection;
    let days = match body {
        Ok(Json(r)) => r.expires_in_days,
        // No body: the defaults.
        Err(JsonRejection::MissingJsonContentType(_)) => None,
        Err(e) => return Err(ApiError::BadRequest(e.body_text())),
    }
    .unwrap_or(DEFAULT_TOKEN_DAYS);
    let user = name.clone();
    let token = s
        .with_writer(move |store| Ok(haven_core::users::rotate_token(store, &user, days)?))
        .await?;
    s.forget_verified_tokens();
    Ok(private(Json(json!({"name": name, "token": token}))).into_response())
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

/// The OpenAPI operation of `GET /api/v1/admin/users`.
fn list_users_doc() -> Value {
    json!({
        "operationId": "listUsers", "summary": "Admins: the users (never tokens).",
        "security": [{"bearer": []}],
        "responses": {"200": {"description": "Users.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}}}, "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/admin/users`.
fn add_user_doc() -> Value {
    json!({
        "operationId": "addUser", "summary": "Admins: add a user; the token is in the answer, once.",
        "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "pattern": "^[a-z0-9._@-]{1,64}$"}, "role": {"type": "string", "enum": ["officer", "admin"]},
            "expires_in_days": {"type": "integer", "minimum": 0, "maximum": 36500, "description": "Days the token works; 0: no expiry; absent: 90."},
            "municipality": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$", "description": "On a region's Haven: the municipality (tenant) the user belongs to, who then reaches only the region's routes for it. Absent: the whole database (on a region's Haven, a regional user)."}}}}}},
        "responses": {"201": {"description": "Added.", "content": {"application/json": {"schema": {"type": "object", "required": ["name", "role", "token"]}}}}, "400": openapi::problem(), "403": openapi::problem()},
    })
}

/// The OpenAPI operation of `POST /api/v1/admin/users/{name}/rotate`.
fn rotate_token_doc() -> Value {
    json!({
        "operationId": "rotateToken", "summary": "Admins: a new token for a user, in the answer once; the old one stops working.",
        "security": [{"bearer": []}],
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
            "expires_in_days": {"type": "integer", "minimum": 0, "maximum": 36500}}}}}},
        "responses": {"200": {"description": "The new token.", "content": {"application/json": {"schema": {"type": "object", "required": ["name", "token"]}}}}, "400": openapi::problem(), "403": openapi::problem(), "404": openapi::problem()},
    })
}

/// The OpenAPI operation of `DELETE /api/v1/admin/users/{name}`.
fn remove_user_doc() -> Value {
    json!({
        "operationId": "removeUser", "summary": "Admins: remove a user; its token stops working.",
        "security": [{"bearer": []}],
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"204": {"description": "Removed."}, "400": openapi::problem(), "403": openapi::problem(), "404": openapi::problem()},
    })
}
