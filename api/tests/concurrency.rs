//! Reads during a write, in process over the real router: while an officer's upload (a load of
//! 60,000 vacant properties and the analysis after it) runs, reads are answered from the last
//! committed state, never a part of the upload, and without waiting for it.

mod common;

use std::time::{Duration, Instant};

use api::{AppState, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use haven_core::users::{Role, add_user};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn properties(token: &str) -> Request<Body> {
    Request::get("/api/v1/officer/vacant-properties?limit=1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// The demo's register (Windows-1252, ';') repeated under new identifiers (its first column)
/// until it has `rows` rows; the demo's invalid rows come along and are rejected as there.
fn big_register(demo: &std::path::Path, rows: usize) -> Vec<u8> {
    let bytes = std::fs::read(demo.join("leegstand_vacant_properties.csv")).unwrap();
    let mut lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    let header = lines.next().unwrap();
    let body: Vec<&[u8]> = lines.collect();
    let mut out = header.to_vec();
    out.push(b'\n');
    for i in 0..rows {
        let line = body[i % body.len()];
        let at = line.iter().position(|b| *b == b';').unwrap();
        out.extend_from_slice(format!("BULK-{i:06}").as_bytes());
        out.extend_from_slice(&line[at..]);
        out.push(b'\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_during_an_upload_see_the_old_or_the_new_state_and_do_not_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (store, root) = common::published_demo(&dir);
    let token = add_user(&store, "olivia", Role::Officer, 90).unwrap();
    let state = AppState::with_defaults(store)
        .with_published(root)
        .with_rate_limit(0.0);
    let (code, before) = call(&state, properties(&token)).await;
    assert_eq!(code, StatusCode::OK, "{before}");
    let old = before["total"].as_u64().unwrap();
    let rows = 60_000;
    let bytes = big_register(&dir.path().join("demo"), rows);

    let upload = {
        let state = state.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let req = Request::post("/api/v1/ingest/vacant_properties?source=bulk.csv")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(bytes))
                .unwrap();
            let started = Instant::now();
            let (code, body) = call(&state, req).await;
            (code, body, started.elapsed())
        })
    };
    // Reads while the upload runs: each answered with the old total or the new one.
    let mut during = Vec::new();
    let mut seen = Vec::new();
    while !upload.is_finished() {
        let t = Instant::now();
        let (code, body) = call(&state, properties(&token)).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let total = body["total"].as_u64().unwrap();
        if !upload.is_finished() {
            during.push(t.elapsed());
            seen.push(total);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, report, took) = upload.await.unwrap();
    assert_eq!(code, StatusCode::OK, "{report}");
    let inserted = report["rows_inserted"].as_u64().unwrap();
    assert!(inserted > rows as u64 * 9 / 10, "{report}");
    let new = old + inserted;
    assert!(
        seen.iter().all(|t| *t == old || *t == new),
        "a read saw part of the upload: {seen:?} (old {old}, new {new})"
    );
    // The reads were answered while the upload ran, each in a fraction of its time: they did
    // not queue behind it.
    assert!(
        during.len() >= 3,
        "only {} read(s) answered during an upload of {took:?}",
        during.len()
    );
    let slowest = during.iter().max().unwrap();
    assert!(
        *slowest < took / 2,
        "a read waited {slowest:?} during an upload of {took:?}"
    );
    let (_, after) = call(&state, properties(&token)).await;
    assert_eq!(after["total"].as_u64(), Some(new));
}
