//! Admin operations on the data, so that `haven analyze`, `haven publish`, `haven jobs run`
//! and `haven scenario` work beside a running server: each is the core's use case run on the server's writer (the
//! command hands it over as the local operator). Readers do not wait for it; what the public
//! sees changes only with a release.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::Response;
use haven_core::pipeline;
use serde::Deserialize;

use crate::officer::private;
use crate::{ApiError, AppState};

/// Runs a scheduled job by name and answers its run report (JSON); set by the process that
/// holds the jobs' configuration.
pub type JobRunner =
    Arc<dyn Fn(&str) -> Result<serde_json::Value, haven_core::Error> + Send + Sync>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    /// Recompute every part, even those whose inputs did not change.
    #[serde(default)]
    pub full: bool,
    /// Permutations of the significance tests (default: the server's settings).
    pub permutations: Option<usize>,
}

/// `POST /api/v1/admin/analyze`: the analysis run's summary.
pub async fn analyze(
    State(s): State<AppState>,
    body: Result<Json<AnalyzeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut settings = s.settings().clone();
    if let Some(n) = req.permutations {
        settings.set_permutations(n);
    }
    let report = s
        .with_store_mut(move |store| {
            Ok(pipeline::analyze(
                store,
                &settings,
                req.full,
                &analytics::NoProgress,
            )?)
        })
        .await?;
    Ok(private(Json(report)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Write a release even if nothing changed since the last one.
    #[serde(default)]
    pub force: bool,
}

/// `POST /api/v1/admin/publish`: the release made, or why the disclosure step held it back
/// (`outcome`: `made` or `held_back`). Under the server's settings.
pub async fn publish(
    State(s): State<AppState>,
    body: Result<Json<PublishRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let settings = s.settings().clone();
    let released = s
        .with_store_mut(move |store| Ok(pipeline::release(store, &settings, req.force)?))
        .await?;
    // The public indicator answers switch to the new release before this answer is given.
    s.refresh_published().await?;
    Ok(private(Json(released)))
}

/// `POST /api/v1/admin/jobs/{name}/run`: runs a job of the server's configuration now; its run
/// report.
pub async fn run_job(
    State(s): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(runner) = s.job_runner() else {
        return Err(ApiError::NotFound(
            "this server runs no scheduled jobs (no haven.toml with jobs when it started)".into(),
        ));
    };
    let report = tokio::task::spawn_blocking(move || runner(&name)).await??;
    // The job ran on a connection of its own: cached answers are stale.
    s.data_changed();
    Ok(private(Json(report)))
}

/// `GET /api/v1/admin/scenario?inflow=N&lq_cap=1.5`: the preparedness scenario from the
/// register's own figures (current placements and their household mix, the location quotients
/// after the allocation included), as `haven scenario` shows it to whoever holds the database.
pub async fn scenario(
    State(s): State<AppState>,
    q: Result<Query<crate::explore::ScenarioQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let result = s
        .with_store(move |store| {
            Ok(haven_core::scenario::scenario(
                store,
                q.inflow,
                q.lq_cap,
                haven_core::scenario::Basis::Live,
            )?)
        })
        .await?;
    Ok(private(Json(result)))
}
