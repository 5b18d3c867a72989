//! The stateless reader of a region (`haven serve --region`): the dashboard's regional view
//! and each municipality's public view, answered from the lake's public catalogue
//! ([`haven_core::regional`]). No database, no officer, no write: any number of these run
//! behind a load balancer, each pinned to one snapshot of the lake until it moves on.
//!
//! Every answer names its snapshot (`Haven-Lake-Snapshot` and the body's `snapshot`), and its
//! ETag is the snapshot's: two readers on the same snapshot answer alike, byte for byte. The
//! answers of the pinned snapshot cannot change, so they are kept (up to a bound, the oldest let
//! go first, and computed once however many ask at once: [`crate::cache`]) until the reader
//! moves on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use haven_core::catalog::{RegionPublisher, Syntax, region_catalog};
use haven_core::regional::Reader;
use serde_json::{Value, json};

use crate::ApiError;

/// Header naming the snapshot an answer was read at.
pub const SNAPSHOT_HEADER: &str = "haven-lake-snapshot";

/// A reader's state: the lake, the settings the page and the catalogue need, and the answers
/// kept (none when the bound is 0).
#[derive(Clone)]
pub struct RegionState {
    reader: Arc<Reader>,
    settings: Arc<haven_core::Settings>,
    kept: Option<Arc<crate::cache::Cache>>,
}

/// The snapshot a request is answered at: the one the reader was pinned to when it arrived.
#[derive(Clone, Copy)]
struct Pinned(i64);

impl RegionState {
    /// A reader keeping at most `keep_bytes` of answers (0: none, every answer read from the
    /// lake).
    pub fn new(reader: Reader, settings: haven_core::Settings, keep_bytes: usize) -> RegionState {
        RegionState {
            reader: Arc::new(reader),
            settings: Arc::new(settings),
            kept: (keep_bytes > 0).then(|| Arc::new(crate::cache::Cache::with_bound(keep_bytes))),
        }
    }

    /// Reads at `snapshot`, off the async runtime.
    async fn read<T: Into<Bytes> + Send + 'static>(
        &self,
        Pinned(snapshot): Pinned,
        read: impl FnOnce(&Reader, i64) -> Result<T, haven_core::Error> + Send + 'static,
    ) -> Result<(i64, Bytes), ApiError> {
        let reader = self.reader.clone();
        let value = tokio::task::spawn_blocking(move || read(&reader, snapshot)).await??;
        Ok((snapshot, value.into()))
    }

    /// The JSON answer read at `snapshot`.
    async fn answer<T: serde::Serialize + Send + 'static>(
        &self,
        at: Pinned,
        read: impl FnOnce(&Reader, i64) -> Result<T, haven_core::Error> + Send + 'static,
    ) -> Result<(i64, Bytes), ApiError> {
        self.read(at, move |r, snapshot| {
            let value = read(r, snapshot)?;
            serde_json::to_vec(&value).map_err(|e| haven_core::Error::Internal(e.to_string()))
        })
        .await
    }
}

/// Pins each request to the reader's snapshot as it arrives, and answers it from the answers
/// kept at that snapshot when it can.
async fn keep(State(s): State<RegionState>, mut req: Request, next: Next) -> Response {
    let snapshot = s.reader.pinned();
    req.extensions_mut().insert(Pinned(snapshot));
    match &s.kept {
        Some(cache) => crate::cache::through(cache, snapshot.unsigned_abs(), req, next).await,
        None => next.run(req).await,
    }
}

/// An answer of `snapshot`, with its validators (ETag `tag`), or 304 when the client holds it.
fn respond(
    headers: &HeaderMap,
    media: &'static str,
    tag: &str,
    (snapshot, body): (i64, Bytes),
) -> Response {
    let mut res = crate::http::cached_bytes(headers, tag, media, body);
    if let Ok(v) = HeaderValue::from_str(&snapshot.to_string()) {
        res.headers_mut().insert(SNAPSHOT_HEADER, v);
    }
    res
}

/// The ETag of an answer: its resource at its snapshot.
fn tag(resource: &str, snapshot: i64) -> String {
    crate::http::etag(&snapshot.to_string(), resource)
}

async fn page(State(s): State<RegionState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(dashboard::page(
            &s.settings.server.basemap_style,
            dashboard::Mode::Region,
        )),
    )
}

async fn overview(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let answer = s.answer(at, |r, snapshot| r.overview(snapshot)).await?;
    Ok(respond(
        &headers,
        "application/json",
        &tag("region", answer.0),
        answer,
    ))
}

async fn spread(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let answer = s.answer(at, |r, snapshot| r.spread(snapshot)).await?;
    Ok(respond(
        &headers,
        "application/json",
        &tag("spread", answer.0),
        answer,
    ))
}

async fn map(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let answer = s.answer(at, |r, snapshot| r.map(snapshot)).await?;
    Ok(respond(
        &headers,
        "application/geo+json",
        &tag("map", answer.0),
        answer,
    ))
}

async fn municipality(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    UrlPath(code): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The code is checked by the reader (400 when it cannot be a municipality's).
    let key = format!("m/{code}");
    let answer = s
        .answer(at, move |r, snapshot| r.municipality(snapshot, &code))
        .await?;
    Ok(respond(
        &headers,
        "application/json",
        &tag(&key, answer.0),
        answer,
    ))
}

/// `GET /api/v1/region/catalog`: the region's DCAT-AP catalogue, JSON-LD or Turtle.
async fn catalog(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    headers: HeaderMap,
    q: Result<Query<crate::routes::releases::CatalogQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let syntax = crate::routes::releases::syntax(q.format.as_deref(), &headers)?;
    let base = crate::routes::releases::base_url(s.settings.server.base_url.as_deref(), &headers);
    let r = &s.settings.release;
    let by = RegionPublisher {
        name: r.publisher.clone(),
        contact: r.contact.clone(),
        licence: r.licence.clone(),
    };
    let resource = format!("catalog {syntax:?} {base}");
    let answer = s
        .read(at, move |reader, snapshot| {
            Ok(region_catalog(
                &base,
                &reader.releases(snapshot)?,
                &by,
                syntax,
            ))
        })
        .await?;
    let media = match syntax {
        Syntax::Turtle => "text/turtle; charset=utf-8",
        Syntax::JsonLd => "application/ld+json",
    };
    Ok(respond(&headers, media, &tag(&resource, answer.0), answer))
}

/// `GET /api/v1/m/{code}/data/{file}`: a dataset of a municipality's current release as CSV.
async fn dataset(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    UrlPath((code, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(id) = file.strip_suffix(".csv").map(str::to_string) else {
        return Err(ApiError::NotFound(format!(
            "{file}: the region's datasets are served as CSV ({{dataset}}.csv)"
        )));
    };
    let resource = format!("data {code} {file}");
    let answer = s
        .read(at, move |reader, snapshot| {
            reader.dataset_csv(snapshot, &code, &id)
        })
        .await?;
    Ok(respond(
        &headers,
        "text/csv; charset=utf-8",
        &tag(&resource, answer.0),
        answer,
    ))
}

/// `GET /api/v1/m/{code}/releases/{version}/{file}`: a file of a municipality's release as
/// the bucket keeps it, immutable (what a CDN in front of the bucket would serve too).
async fn release_file(
    State(s): State<RegionState>,
    Extension(at): Extension<Pinned>,
    UrlPath((code, version, file)): UrlPath<(String, u32, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resource = format!("release {code} {version} {file}");
    let reader = s.reader.clone();
    let Pinned(snapshot) = at;
    let (bytes, media) =
        tokio::task::spawn_blocking(move || reader.release_file(snapshot, &code, version, &file))
            .await??;
    // The same bytes at every snapshot: the ETag and the cache lifetime say so.
    let mut res = crate::http::cached_bytes(
        &headers,
        &crate::http::etag("release", &resource),
        media,
        bytes.into(),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(res)
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
            "/api/v1/region/spread": {"get": {"operationId": "regionSpread", "summary": "How persons placed spread across the municipalities against their dwellings: the dissimilarity index and each municipality's location quotient, from published figures only (municipalities whose figure is withheld are left out and named).", "responses": ok("The spread.", "application/json")}},
            "/api/v1/region/catalog": {"get": {"operationId": "regionCatalog", "summary": "The region's DCAT-AP 3 catalogue: a dataset series per municipality, a dataset per table of its current release.",
                "parameters": [{"name": "format", "in": "query", "schema": {"type": "string", "enum": ["jsonld", "ttl"]}}],
                "responses": ok("The catalogue.", "application/ld+json")}},
            "/api/v1/m/{code}": {"get": {"operationId": "regionMunicipality", "summary": "One municipality: its headline figures and its districts with theirs.",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}}],
                "responses": ok("The municipality.", "application/json")}},
            "/api/v1/m/{code}/data/{file}": {"get": {"operationId": "regionDataset", "summary": "A dataset of a municipality's current release as CSV, as the lake holds it.",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"name": "file", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z-]+[.]csv$"}}],
                "responses": ok("CSV with a header row.", "text/csv")}},
            "/api/v1/m/{code}/releases/{version}/{file}": {"get": {"operationId": "regionReleaseFile", "summary": "A file of a municipality's release (up to the one the reader's snapshot holds) as the bucket keeps it: byte for byte what the release folder held, never replaced.",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string"}},
                               {"name": "version", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                               {"name": "file", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]*$"}}],
                "responses": ok("The file.", "application/octet-stream")}},
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
        .route("/api/v1/region/catalog", get(catalog))
        .route("/api/v1/region/spread", get(spread))
        .route("/api/v1/m/{code}", get(municipality))
        .route("/api/v1/m/{code}/data/{file}", get(dataset))
        .route(
            "/api/v1/m/{code}/releases/{version}/{file}",
            get(release_file),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), keep))
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
        for p in [
            "/api/v1/region",
            "/api/v1/region/map",
            "/api/v1/region/catalog",
            "/api/v1/region/spread",
            "/api/v1/m/{code}",
            "/api/v1/m/{code}/data/{file}",
            "/api/v1/m/{code}/releases/{version}/{file}",
        ] {
            assert!(d["paths"][p]["get"]["operationId"].is_string(), "{p}");
        }
    }
}
