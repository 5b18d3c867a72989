//! The stateless reader of a region (`haven serve --region`): the dashboard's regional view
//! and each municipality's public view, answered from the lake's public catalogue
//! ([`haven_core::regional`]). No database, no officer, no write: any number of these run
//! behind a load balancer, each pinned to one snapshot of the lake until it moves on.
//!
//! Every answer names its snapshot (`Haven-Lake-Snapshot` and the body's `snapshot`), and its
//! ETag is the snapshot's: two readers on the same snapshot answer alike, byte for byte. The
//! answers of the pinned snapshot are kept (they cannot change), at most one per resource.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use haven_core::regional::Reader;
use serde_json::{Value, json};

use crate::ApiError;

/// Header naming the snapshot an answer was read at.
pub const SNAPSHOT_HEADER: &str = "haven-lake-snapshot";

/// A reader's state: the lake, the page's basemap, and the answers of the pinned snapshot.
#[derive(Clone)]
pub struct RegionState {
    reader: Arc<Reader>,
    basemap_style: Arc<String>,
    answers: Arc<Mutex<HashMap<String, (i64, Bytes)>>>,
}

impl RegionState {
    pub fn new(reader: Reader, basemap_style: String) -> RegionState {
        RegionState {
            reader: Arc::new(reader),
            basemap_style: Arc::new(basemap_style),
            answers: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The answer to `key` at the pinned snapshot: kept, or read (off the async runtime).
    async fn answer(
        &self,
        key: String,
        read: impl FnOnce(&Reader, i64) -> Result<Value, haven_core::Error> + Send + 'static,
    ) -> Result<(i64, Bytes), ApiError> {
        let snapshot = self.reader.pinned();
        let kept = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .filter(|(s, _)| *s == snapshot)
            .map(|(_, b)| b.clone());
        if let Some(body) = kept {
            return Ok((snapshot, body));
        }
        let reader = self.reader.clone();
        let value = tokio::task::spawn_blocking(move || read(&reader, snapshot)).await??;
        let body =
            Bytes::from(serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))?);
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        // Answers of an older snapshot are of no more use.
        answers.retain(|_, (s, _)| *s == snapshot);
        answers.insert(key, (snapshot, body.clone()));
        Ok((snapshot, body))
    }
}

/// A JSON answer of `snapshot`, with its validators, or 304 when the client holds it.
fn respond(headers: &HeaderMap, media: &'static str, (snapshot, body): (i64, Bytes)) -> Response {
    let tag = crate::http::etag(&snapshot.to_string(), media);
    let mut res = crate::http::cached_bytes(headers, &tag, media, body);
    if let Ok(v) = HeaderValue::from_str(&snapshot.to_string()) {
        res.headers_mut().insert(SNAPSHOT_HEADER, v);
    }
    res
}

async fn page(State(s): State<RegionState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(dashboard::page(&s.basemap_style, dashboard::Mode::Region)),
    )
}

async fn overview(State(s): State<RegionState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let answer = s
        .answer("region".into(), |r, snapshot| {
            serde_json::to_value(r.overview(snapshot)?)
                .map_err(|e| haven_core::Error::Internal(e.to_string()))
        })
        .await?;
    Ok(respond(&headers, "application/json", answer))
}

async fn map(State(s): State<RegionState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let answer = s
        .answer("map".into(), |r, snapshot| r.map(snapshot))
        .await?;
    Ok(respond(&headers, "application/geo+json", answer))
}

async fn municipality(
    State(s): State<RegionState>,
    UrlPath(code): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The code is checked by the reader (400 when it cannot be a municipality's).
    let key = format!("m/{code}");
    let answer = s
        .answer(key, move |r, snapshot| r.municipality(snapshot, &code))
        .await?;
    Ok(respond(&headers, "application/json", answer))
}

async fn openapi() -> impl IntoResponse {
    axum::Json(document())
}

/// The reader's OpenAPI document.
pub fn document() -> Value {
    let snapshot = json!({"description": "The lake snapshot the answer was read at.", "schema": {"type": "integer"}});
    let ok = |what: &str, media: &str| {
        json!({"200": {"description": what, "headers": {"Haven-Lake-Snapshot": snapshot}, "content": {media: {"schema": {"type": "object"}}}},
               "304": {"description": "The client holds this answer already."},
               "404": {"description": "Not found.", "content": {"application/problem+json": {"schema": {"type": "object"}}}}})
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Haven regional reader", "version": env!("CARGO_PKG_VERSION"),
                 "description": "A region's municipalities as their latest releases in the lake publish them; read-only."},
        "paths": {
            "/api/v1/region": {"get": {"operationId": "region", "summary": "Every municipality of the region with its release, latest month and headline figures (withheld ones null and flagged).", "responses": ok("The region.", "application/json")}},
            "/api/v1/region/map": {"get": {"operationId": "regionMap", "summary": "The municipalities as GeoJSON features (their districts' polygons) with their headline figures.", "responses": ok("A FeatureCollection.", "application/geo+json")}},
            "/api/v1/m/{code}": {"get": {"operationId": "regionMunicipality", "summary": "One municipality: its headline figures and its districts with theirs.",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}}],
                "responses": ok("The municipality.", "application/json")}},
        },
    })
}

/// The reader's routes.
pub fn router(state: RegionState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/assets/{file}", get(crate::routes::site::asset))
        .route("/api/v1/region", get(overview))
        .route("/api/v1/region/map", get(map))
        .route("/api/v1/m/{code}", get(municipality))
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .with_state(state)
}

/// Serves the region until Ctrl-C or SIGTERM, moving on to the lake's latest snapshot every
/// `refresh`. Prints the address it listens on, on its own line, once it does.
pub async fn serve(state: RegionState, addr: SocketAddr, refresh: Duration) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let reader = state.reader.clone();
    let mover = tokio::spawn(async move {
        loop {
            tokio::time::sleep(refresh).await;
            let r = reader.clone();
            match tokio::task::spawn_blocking(move || r.move_on()).await {
                Ok(Ok(Some(snapshot))) => {
                    tracing::info!(snapshot, "moved on to the lake's latest snapshot")
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(cause = %e, "the lake's latest snapshot could not be read; answering from the pinned one")
                }
                Err(e) => tracing::error!(cause = %e, "the snapshot task stopped"),
            }
        }
    });
    tracing::info!(url = %format!("http://{local}"), snapshot = state.reader.pinned(), "serving the region");
    println!("serving http://{local}");
    let result = axum::serve(listener, router(state).into_make_service())
        .with_graceful_shutdown(crate::shutdown())
        .await;
    mover.abort();
    result
}

#[cfg(test)]
mod tests {
    /// The document parses as the OpenAPI 3.1 shape the reader's routes need.
    #[test]
    fn the_document_names_each_route() {
        let d = super::document();
        for p in ["/api/v1/region", "/api/v1/region/map", "/api/v1/m/{code}"] {
            assert!(d["paths"][p]["get"]["operationId"].is_string(), "{p}");
        }
    }
}
