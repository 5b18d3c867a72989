//! Haven's HTTP layer: the resources of `routes/` (one file each, with their OpenAPI
//! operations), the guard every route passes, the answer caches, and `serve`. Behaviour lives
//! in the core; handlers parse, call it and answer.
#![recursion_limit = "512"] // the OpenAPI components are one json! literal

mod audit;
pub mod auth;
mod cache;
mod error;
mod http;
pub mod openapi;
mod published;
pub mod region;
pub mod routes;
mod vector_tile;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;

pub use audit::MIGRATIONS;
pub use error::ApiError;
use haven_core::handoff::{ServerFile, server_file_path, write_server_file};
use haven_core::users::random_hex;
use haven_core::{Database, Settings};
pub use routes::{Access, ROUTES, Route};

/// Shared state: the database (one writer, readers beside it), the settings, and the secret
/// of the local hand-off. One `Arc`: every request and layer clones it.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    db: Arc<Database>,
    settings: Arc<Settings>,
    local_token: Arc<String>,
    instance: Arc<String>,
    gate: Arc<auth::Gate>,
    cache: Arc<cache::Cache>,
    tile_cache: Arc<routes::tiles::DistrictCache>,
    /// The published indicators in memory, per data generation.
    published: Arc<published::Slot>,
    audit: Arc<audit::Log>,
    /// Moves on with every write through this state: cached answers of an older one are stale.
    generation: Arc<std::sync::atomic::AtomicU64>,
    /// Requests per second per client (0: no limit); a client may burst ten seconds' worth.
    rate_limit: f64,
    /// Runs a scheduled job by name, when this server has jobs.
    jobs: Option<routes::admin::JobRunner>,
    /// Permits for blocking reads (queries, whole-table scans, tile encoding): as many as the
    /// pool has readers. A request beyond waits here, on the runtime, instead of parking a
    /// thread on the pool: the blocking threads stay as many as can work, and so does the
    /// memory each thread keeps (its allocator caches), however many visitors queue.
    reads: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State over a store, with these settings (releases are read from their folder).
    /// Brings the tables the server uses up to date first: the core's, the scheduled imports'
    /// (their freshness is served) and the audit log.
    pub fn new(store: ingest::Store, settings: Settings) -> Result<AppState, ApiError> {
        haven_core::migrate(&store)?;
        jobs::migrate(&store)?;
        MIGRATIONS.apply(store.conn())?;
        Ok(AppState(Arc::new(Shared {
            db: Arc::new(Database::new(store)?),
            rate_limit: settings.server.rate_limit,
            settings: Arc::new(settings),
            local_token: Arc::new(random_hex(32)),
            instance: Arc::new(random_hex(8)),
            gate: Arc::new(auth::Gate::default()),
            cache: Arc::new(cache::Cache::default()),
            tile_cache: Arc::new(routes::tiles::DistrictCache::default()),
            published: Arc::new(published::Slot::default()),
            audit: Arc::new(audit::Log::default()),
            generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            jobs: None,
            reads: Arc::new(tokio::sync::Semaphore::new(haven_core::MAX_READERS)),
        })))
    }

    /// The state while it is being set up (before the server shares it).
    fn setup(&mut self) -> &mut Shared {
        Arc::get_mut(&mut self.0).expect("the state is set up before it is shared")
    }

    /// Lets admins (and `haven jobs run` beside the server) run the scheduled jobs by name.
    pub fn with_job_runner(mut self, runner: routes::admin::JobRunner) -> AppState {
        self.setup().jobs = Some(runner);
        self
    }

    fn job_runner(&self) -> Option<routes::admin::JobRunner> {
        self.jobs.clone()
    }

    /// State over a store with the default settings for its file (tests, tools).
    pub fn with_defaults(store: ingest::Store) -> AppState {
        let settings = Settings::defaults(store.path());
        AppState::new(store, settings)
            .unwrap_or_else(|e| panic!("a second connection to the open database: {}", e.detail()))
    }

    /// Forgets the tokens verified so far (after a user is removed).
    pub fn forget_verified_tokens(&self) {
        self.gate.forget();
    }

    /// Requests per second per client (0: no limit).
    pub fn with_rate_limit(mut self, per_second: f64) -> AppState {
        self.setup().rate_limit = per_second;
        self
    }

    /// The settings the server runs with, to hand to what runs beside it (the scheduler).
    pub fn shared_settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings)
    }

    /// The settings the server runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The database (for a scheduled job's own connection).
    pub fn database(&self) -> Arc<Database> {
        self.db.clone()
    }

    /// Runs `f`, which writes data, on the writer off the async runtime; answers cached before
    /// it are not served again.
    pub async fn with_store_mut<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ingest::Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let r = self.with_writer(f).await;
        self.data_changed();
        r
    }

    /// Runs `f`, which writes (users, the audit log), on the writer off the async runtime.
    /// Readers do not wait for it.
    pub async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ingest::Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.write(f)).await?
    }

    /// The bytes the answers kept in memory hold.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// How many answers are kept in memory.
    pub fn cache_entries(&self) -> usize {
        self.cache.len()
    }

    /// Tells the server that data changed through another connection (a scheduled import):
    /// answers cached before are not served again.
    pub fn data_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Reads releases from another folder.
    pub fn with_published(mut self, root: std::path::PathBuf) -> AppState {
        Arc::make_mut(&mut self.setup().settings).release.root = root;
        self
    }

    /// The folder of release folders.
    pub fn published_root(&self) -> &Path {
        &self.settings.release.root
    }

    /// Runs `f`, which only reads, on a reader of the pool off the async runtime (DuckDB calls
    /// block): it sees the last committed state and never waits for a write.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ingest::Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = self.db.clone();
        self.blocking(move || db.read(f)).await?
    }

    /// Runs blocking read work `f` off the runtime, once a read permit is free (see `reads`).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.reads)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await?)
    }
}

/// The API's routes; the test seam (`router(state).oneshot(request)`).
pub fn router(state: AppState) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |r, route| {
            let mut h = (route.handler)();
            if route.cacheable() {
                h = h.route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    cache::layer,
                ));
            }
            r.route(
                route.path,
                h.route_layer(axum::middleware::from_fn_with_state(
                    (state.clone(), route.access),
                    auth::guard,
                )),
            )
        })
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM; announces the server for local hand-offs meanwhile. The
/// published indicators and the districts of the map are read into memory first, so the
/// first thousand visitors are not answered by SQL while they are read.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let warm = std::time::Instant::now();
    if let Err(e) = state.refresh_published().await {
        tracing::warn!(cause = %e.detail(), "the published indicators could not be read into memory");
    }
    if let Err(e) = state.warm_tiles().await {
        tracing::warn!(cause = %e.detail(), "the districts of the map could not be read");
    }
    tracing::debug!(ms = warm.elapsed().as_millis() as u64, "read models ready");
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let announce = server_file_path(state.db.path());
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    write_server_file(
        &announce,
        &ServerFile {
            pid: std::process::id(),
            url: format!("http://{host}:{}", local.port()),
            token: state.local_token.to_string(),
            instance: state.instance.to_string(),
        },
    )?;
    tracing::info!(url = %format!("http://{local}"), "serving");
    let result = axum::serve(
        listener,
        router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await;
    state.flush_audit().await;
    let _ = std::fs::remove_file(&announce);
    result
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A request as from a `haven` command on the server's machine (a loopback peer).
    async fn call(state: &AppState, mut req: Request<Body>) -> (StatusCode, String, String) {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((
                [127, 0, 0, 1],
                40_000,
            ))));
        let res = router(state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, ctype, String::from_utf8(body.to_vec()).unwrap())
    }

    /// The OpenAPI document describes exactly the routes the router serves, each operation
    /// named once, summarised, and with its answers.
    #[test]
    fn the_openapi_document_describes_every_route() {
        let mut routes: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        routes.sort();
        assert_eq!(openapi::operations(), routes);
        let doc = openapi::document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = std::collections::HashSet::new();
        for r in ROUTES.iter() {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                ids.insert(id.to_string()),
                "{r:?}: operationId {id:?} twice or missing"
            );
            assert!(
                op["summary"].is_string() && op["responses"].is_object(),
                "{r:?}"
            );
        }
    }

    fn upload(dataset: &str, token: &str, body: &'static str) -> Request<Body> {
        let ext = if body.starts_with('{') {
            "geojson"
        } else {
            "csv"
        };
        Request::post(format!("/api/v1/ingest/{dataset}?source=upload.{ext}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap()
    }

    const DISTRICT: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"district_code":"BE1","name":"Centrum","dwellings_total":10},"geometry":{"type":"Polygon","coordinates":[[[4,51],[4.1,51],[4.1,51.1],[4,51],[4,51]]]}}]}"#;

    /// The hand-off token of `haven` commands works only from the server's own machine.
    #[tokio::test]
    async fn the_hand_off_token_is_taken_only_from_a_loopback_peer() {
        let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
        let token = state.local_token.to_string();
        let mut req = upload("districts", &token, DISTRICT);
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::from((
                [10, 0, 0, 5],
                40_000,
            ))));
        let res = router(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let (code, _, body) = call(&state, upload("districts", &token, DISTRICT)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }

    #[tokio::test]
    async fn status_counts_what_an_upload_loaded() {
        let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
        let token = state.local_token.to_string();
        let (code, _, body) = call(&state, upload("districts", &token, DISTRICT)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let report: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (report["outcome"].as_str(), report["rows_accepted"].as_i64()),
            (Some("loaded"), Some(1))
        );

        let (code, ctype, body) = call(
            &state,
            Request::get("/api/v1/status").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!((code, ctype.as_str()), (StatusCode::OK, "application/json"));
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(status["datasets"][0]["name"], "districts");
        assert_eq!(status["datasets"][0]["rows"], 1);
        assert_eq!(status["overview"]["dwellings"], 10);
    }

    #[tokio::test]
    async fn a_small_count_of_placements_is_withheld_not_shown() {
        let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
        let token = state.local_token.to_string();
        call(&state, upload("districts", &token, DISTRICT)).await;
        let two = "placement_id,household_ref,household_size,programme,district_code,referral_date\nP1,H1,3,other,BE1,2025-01-01\nP2,H2,1,other,BE1,2025-02-01\n";
        let (code, _, body) = call(&state, upload("placements", &token, two)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert!(body.contains("\"outcome\":\"loaded\""), "{body}");
        let (_, _, body) = call(
            &state,
            Request::get("/api/v1/status").body(Body::empty()).unwrap(),
        )
        .await;
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        let placements = status["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "placements")
            .unwrap();
        assert_eq!(
            (&placements["rows"], &placements["withheld"]),
            (&serde_json::Value::Null, &serde_json::Value::Bool(true))
        );
    }

    #[tokio::test]
    async fn errors_share_one_problem_shape() {
        let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
        let token = state.local_token.to_string();
        let cases = [
            (
                Request::get("/nowhere").body(Body::empty()).unwrap(),
                StatusCode::NOT_FOUND,
            ),
            (
                upload("districts", "wrong", DISTRICT),
                StatusCode::UNAUTHORIZED,
            ),
            (upload("vacant", &token, DISTRICT), StatusCode::BAD_REQUEST),
        ];
        for (req, expected) in cases {
            let (code, ctype, body) = call(&state, req).await;
            assert_eq!(
                (code, ctype.as_str()),
                (expected, "application/problem+json"),
                "{body}"
            );
            let p: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(p["status"], expected.as_u16());
            assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }

    #[tokio::test]
    async fn the_page_is_served_at_the_root() {
        let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
        let (code, ctype, body) =
            call(&state, Request::get("/").body(Body::empty()).unwrap()).await;
        assert_eq!(code, StatusCode::OK);
        assert!(ctype.starts_with("text/html") && body.contains("/assets/app.js"));
        assert!(body.contains(r#"name="haven-basemap-style" content="""#));

        // Its script, gzipped when accepted, then revalidated by ETag.
        let res = router(state.clone())
            .oneshot(
                Request::get("/assets/app.js")
                    .header(header::ACCEPT_ENCODING, "br, gzip")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        let etag = res.headers()[header::ETAG].clone();
        let res = router(state.clone())
            .oneshot(
                Request::get("/assets/app.js")
                    .header(header::IF_NONE_MATCH, etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        let (code, _, _) = call(
            &state,
            Request::get("/assets/nothing.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(code, StatusCode::NOT_FOUND);
    }
}
