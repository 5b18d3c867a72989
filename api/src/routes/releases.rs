//! The open-data routes: the DCAT-AP catalogue, the list of releases, and the release files
//! themselves (immutable, so cached for a year by version; `latest` for a minute).

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use haven_core::catalog::{Syntax, catalog as catalog_text};
use haven_core::publish::FileEntry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Access::Public;
use super::{Route, route};
use crate::http::holds;
use crate::{ApiError, AppState, openapi};

/// Scheme and host the client used (IRIs in the catalogue are absolute).
pub(crate) fn base_url(configured: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(base) = configured {
        return base.to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The catalogue's serialisation: `format` (jsonld or ttl), else the Accept header (JSON-LD
/// by default).
pub(crate) fn syntax(format: Option<&str>, headers: &HeaderMap) -> Result<Syntax, ApiError> {
    Ok(match format {
        Some("ttl" | "turtle") => Syntax::Turtle,
        Some("jsonld" | "json-ld" | "json") => Syntax::JsonLd,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format '{other}' is not one of jsonld, ttl"
            )));
        }
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|a| a.to_str().ok())
                .unwrap_or("");
            if accept.contains("text/turtle") {
                Syntax::Turtle
            } else {
                Syntax::JsonLd
            }
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// `jsonld` or `ttl`; otherwise the Accept header decides (JSON-LD by default).
    pub format: Option<String>,
}

/// `GET /api/v1/catalog`: DCAT-AP 3, JSON-LD or Turtle.
pub async fn catalog(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<CatalogQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let syntax = syntax(q.format.as_deref(), &headers)?;
    let (releases, stale) = s
        .with_store(|store| {
            let stale = jobs::freshness(store)?
                .into_iter()
                .filter(|f| f.stale)
                .map(|f| haven_core::catalog::Stale {
                    dataset: f.dataset,
                    reason: if matches!(
                        f.last_outcome.as_str(),
                        "failed" | "interrupted" | "refused"
                    ) {
                        format!("its last scheduled import {}", f.last_outcome)
                    } else {
                        "its source has not changed for longer than expected".to_string()
                    },
                })
                .collect::<Vec<_>>();
            Ok((haven_core::publish::manifests(store)?, stale))
        })
        .await?;
    let base = base_url(s.settings().server.base_url.as_deref(), &headers);
    let version = releases.last().map_or(0, |m| m.version);
    let stale_key: String = stale.iter().map(|x| x.dataset.as_str()).collect();
    let tag = format!(
        "\"catalog-{version}-{stale_key}-{}-{:x}\"",
        if syntax == Syntax::Turtle {
            "ttl"
        } else {
            "jsonld"
        },
        base.bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
    );
    let content_type = match syntax {
        Syntax::Turtle => "text/turtle; charset=utf-8",
        Syntax::JsonLd => "application/ld+json",
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60, must-revalidate"),
    );
    out.insert(header::VARY, HeaderValue::from_static("Accept"));
    if holds(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok((out, catalog_text(&base, &releases, &stale, syntax)).into_response())
}

#[derive(Debug, Serialize)]
pub struct ReleaseItem {
    pub version: u32,
    pub published_at: String,
    pub url: String,
    pub datasets: Vec<ReleaseDataset>,
    pub package: String,
}

#[derive(Debug, Serialize)]
pub struct ReleaseDataset {
    pub id: String,
    pub rows: u64,
    pub files: Vec<ReleaseFile>,
}

#[derive(Debug, Serialize)]
pub struct ReleaseFile {
    pub url: String,
    #[serde(flatten)]
    pub file: FileEntry,
}

/// `GET /api/v1/releases`: every release, newest first, with its files.
pub async fn releases(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let all = s
        .with_store(|store| Ok(haven_core::publish::manifests(store)?))
        .await?;
    let tag = format!("\"releases-{}\"", all.last().map_or(0, |m| m.version));
    let items: Vec<ReleaseItem> = all
        .into_iter()
        .rev()
        .map(|m| {
            let url = format!("/api/v1/releases/{}", m.version);
            ReleaseItem {
                version: m.version,
                published_at: m.published_at,
                package: format!("{url}/datapackage.json"),
                datasets: m
                    .datasets
                    .into_iter()
                    .map(|d| ReleaseDataset {
                        id: d.id,
                        rows: d.rows,
                        files: d
                            .files
                            .into_iter()
                            .map(|f| ReleaseFile {
                                url: format!("{url}/{}", f.name),
                                file: f,
                            })
                            .collect(),
                    })
                    .collect(),
                url,
            }
        })
        .collect();
    Ok(crate::http::cached(&headers, &tag, || items))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// CSV only: add the HXL hashtag row under the header.
    #[serde(default)]
    pub hxl: bool,
}

/// `GET /api/v1/releases/{version}/{file}`: a file of a release (`latest` for the newest).
pub async fn file(
    State(s): State<AppState>,
    UrlPath((version, name)): UrlPath<(String, String)>,
    headers: HeaderMap,
    q: Result<Query<FileQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let wanted: Option<u32> = match version.as_str() {
        "latest" => None,
        v => Some(v.trim_start_matches('v').parse().map_err(|_| {
            ApiError::BadRequest(format!("release '{v}' is not a number or latest"))
        })?),
    };
    let all = s
        .with_store(|store| Ok(haven_core::publish::manifests(store)?))
        .await?;
    let manifest = match wanted {
        None => all.last(),
        Some(v) => all.iter().find(|m| m.version == v),
    }
    .ok_or_else(|| ApiError::NotFound(format!("there is no release {version}")))?;
    // Only the files the manifest names (and itself) are served: no other path.
    let entry: Option<FileEntry> = manifest
        .datasets
        .iter()
        .flat_map(|d| &d.files)
        .chain([&manifest.package])
        .find(|f| f.name == name)
        .cloned();
    let (media_type, etag) = match (&entry, name.as_str()) {
        (Some(f), _) => (f.media_type.clone(), format!("\"{}\"", f.sha256)),
        (None, "manifest.json") => (
            "application/json".to_string(),
            format!("\"manifest-{}\"", manifest.version),
        ),
        _ => {
            return Err(ApiError::NotFound(format!(
                "release {} has no file '{name}'",
                manifest.version
            )));
        }
    };
    let hxl = q.hxl && media_type == "text/csv";
    if q.hxl && !hxl {
        return Err(ApiError::BadRequest(
            "hxl=true applies to CSV files only".into(),
        ));
    }
    let core = etag.trim_matches('"');
    let etag = if hxl {
        format!("\"{core}-hxl\"")
    } else {
        format!("\"{core}\"")
    };
    let cache = if wanted.is_some() {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60, must-revalidate"
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if holds(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let content_type = if media_type.starts_with("text/") {
        format!("{media_type}; charset=utf-8")
    } else {
        media_type
    };
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    let path = s
        .published_root()
        .join(format!("v{}", manifest.version))
        .join(&name);
    // Read off the runtime under a read permit, as every blocking read (`AppState::blocking`).
    let body = s
        .blocking(move || -> Result<Vec<u8>, ApiError> {
            let bytes = std::fs::read(&path)
                .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))?;
            if !hxl {
                return Ok(bytes);
            }
            let package = std::fs::read(path.with_file_name("datapackage.json"))
                .map_err(|e| ApiError::Internal(format!("datapackage.json: {e}")))?;
            with_hxl_row(&bytes, &package, &name)
        })
        .await??;
    Ok((out, Body::from(body)).into_response())
}

/// The CSV with the HXL hashtags of its columns (from the data package's Table Schema) as the
/// second line.
fn with_hxl_row(csv: &[u8], package: &[u8], name: &str) -> Result<Vec<u8>, ApiError> {
    let package: Value = serde_json::from_slice(package)
        .map_err(|e| ApiError::Internal(format!("datapackage.json: {e}")))?;
    let fields = package["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["path"] == name))
        .and_then(|r| r["schema"]["fields"].as_array())
        .ok_or_else(|| ApiError::Internal(format!("no schema for {name}")))?;
    let tags: Vec<&str> = fields
        .iter()
        .map(|f| f["hxl"].as_str().unwrap_or(""))
        .collect();
    let end = csv
        .iter()
        .position(|b| *b == b'\n')
        .map_or(csv.len(), |i| i + 1);
    let mut out = Vec::with_capacity(csv.len() + 64 * tags.len());
    out.extend_from_slice(&csv[..end]);
    if end == csv.len() && !csv.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(tags.join(",").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&csv[end..]);
    Ok(out)
}

/// The routes of this resource, each with its OpenAPI operation.
pub(crate) const ROUTES: &[Route] = &[
    route(
        "GET",
        "/api/v1/catalog",
        Public,
        || get(catalog),
        catalog_doc,
    ),
    route(
        "GET",
        "/api/v1/releases",
        Public,
        || get(releases),
        releases_doc,
    ),
    route(
        "GET",
        "/api/v1/releases/{version}/{file}",
        Public,
        || get(file),
        release_file_doc,
    ),
];

/// The OpenAPI operation of `GET /api/v1/catalog`.
fn catalog_doc() -> Value {
    json!({
        "operationId": "catalog", "summary": "The DCAT-AP 3 catalogue of the releases; Turtle with Accept: text/turtle or format=ttl.",
        "parameters": [openapi::query("format", "jsonld or ttl (default: by Accept, JSON-LD).", json!({"type": "string", "enum": ["jsonld", "ttl"]}))],
        "responses": {
            "200": {
                "description": "The catalogue.",
                "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                "content": {
                    "application/ld+json": {"schema": {"type": "object", "required": ["@context", "@graph"]}},
                    "text/turtle": {"schema": {"type": "string"}},
                },
            },
            "304": openapi::not_modified(), "400": openapi::problem(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/releases`.
fn releases_doc() -> Value {
    json!({
        "operationId": "releases", "summary": "Every open-data release, newest first, with its files.",
        "responses": {
            "200": openapi::ok("The releases.", "application/json", json!({"type": "array", "items": {"$ref": "#/components/schemas/Release"}})),
            "304": openapi::not_modified(),
        },
    })
}

/// The OpenAPI operation of `GET /api/v1/releases/{version}/{file}`.
fn release_file_doc() -> Value {
    let files = openapi::release_files();
    json!({
        "operationId": "releaseFile", "summary": "A file of a release (immutable; ETag is its SHA-256).",
        "parameters": [
            {"name": "version", "in": "path", "required": true, "description": "A release number, or latest.", "schema": {"type": "string", "pattern": "^(latest|[0-9]{1,6})$"}},
            {"name": "file", "in": "path", "required": true, "schema": {"type": "string", "enum": files}},
            openapi::query("hxl", "CSV only: add the HXL hashtag row under the header.", json!({"type": "boolean", "default": false})),
        ],
        "responses": {
            "200": {
                "description": "The file.",
                "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, "Cache-Control": {"$ref": "#/components/headers/CacheControl"}},
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/geo+json": {"schema": {"type": "object"}},
                    "application/vnd.apache.parquet": {"schema": {"type": "string", "contentMediaType": "application/vnd.apache.parquet"}},
                    "application/json": {"schema": {"type": "object"}},
                },
            },
            "304": openapi::not_modified(), "400": openapi::problem(), "404": openapi::problem(),
        },
    })
}
