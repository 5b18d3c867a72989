//! What every answer shares: ETags derived from the data version it was read from, 304 to a
//! matching If-None-Match, Cache-Control for public answers, and `private` for restricted ones.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use haven_core::read;
use serde::Serialize;

use crate::ApiError;

const CACHE_CONTROL: &str = "public, max-age=60, must-revalidate";

/// A strong ETag over the data version and the request (FNV-1a).
pub(crate) fn etag(version: &str, request: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in version.bytes().chain([0u8]).chain(request.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

/// The ETag of a request over the published analysis; 404 while no analysis has run.
pub(crate) fn analysis_etag(store: &ingest::Store, request: &str) -> Result<String, ApiError> {
    Ok(etag(&read::released_version(store)?, request))
}

/// 304 with the validators when the client holds this ETag already; `None` to answer in full.
pub(crate) fn not_modified(headers: &HeaderMap, tag: &str) -> Option<Response> {
    holds(headers, tag).then(|| validated(headers, tag, || ()))
}

/// Whether the client's If-None-Match names this ETag.
pub(crate) fn holds(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// The validators of a public answer: its ETag and Cache-Control.
fn validators(tag: &str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::ETAG,
            HeaderValue::from_str(tag).unwrap_or(HeaderValue::from_static("\"0\"")),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
    ]
}

/// `body` (any answer) with its validators, or 304 with them when the client holds it already.
fn validated<B: IntoResponse>(
    headers: &HeaderMap,
    tag: &str,
    body: impl FnOnce() -> B,
) -> Response {
    if holds(headers, tag) {
        (StatusCode::NOT_MODIFIED, validators(tag)).into_response()
    } else {
        (validators(tag), body()).into_response()
    }
}

/// The answer with its validators, or 304 when the client holds it already.
pub(crate) fn cached<T: Serialize>(
    headers: &HeaderMap,
    tag: &str,
    body: impl FnOnce() -> T,
) -> Response {
    validated(headers, tag, || Json(body()))
}

/// A public answer with the link to how its figures were computed (`provenance`).
#[derive(Serialize)]
pub(crate) struct Described<T: Serialize> {
    #[serde(flatten)]
    pub body: T,
    pub provenance: String,
}

/// `body` with the link to the provenance of `figure` (`/api/v1/provenance/{figure}`).
pub(crate) fn described<T: Serialize>(body: T, figure: &str) -> Described<T> {
    Described {
        body,
        provenance: crate::routes::provenance::link(figure),
    }
}

/// `Link` headers to the provenance of each indicator an answer carries (RFC 8288,
/// `rel="describedby"`).
pub(crate) fn link_provenance(res: &mut Response, ids: &[&str]) {
    let links: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "<{}>; rel=\"describedby\"",
                crate::routes::provenance::link(id)
            )
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        res.headers_mut().insert(header::LINK, v);
    }
}

/// A file as a public answer (`media` type, saved as `file_name`), with its validators, or
/// 304 when the client holds it already.
pub(crate) fn cached_file(
    headers: &HeaderMap,
    tag: &str,
    media: &'static str,
    file_name: &str,
    body: Vec<u8>,
) -> Response {
    validated(headers, tag, || {
        let disposition = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\""))
            .unwrap_or(HeaderValue::from_static("inline"));
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(media)),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
    })
}

/// Bytes already serialized (of `media` type) as a public answer, with their validators, or
/// 304 when the client holds them already.
pub(crate) fn cached_bytes(
    headers: &HeaderMap,
    tag: &str,
    media: &'static str,
    body: axum::body::Bytes,
) -> Response {
    validated(headers, tag, || {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
            body,
        )
    })
}

/// Restricted answers are never stored by shared caches.
pub(crate) fn private(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "private, no-store")], body).into_response()
}
