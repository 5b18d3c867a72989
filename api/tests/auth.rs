//! Access, in process: every route of the route table against anonymous, officer and admin
//! callers with the status each must get (a route without an entry here fails the test), the
//! audit log of restricted reads and uploads, refused tokens, and per-client rate limits.

mod common;

use api::{AppState, ROUTES, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use haven_core::users::{Role, add_user};
use http_body_util::BodyExt;
use tower::ServiceExt;

use std::net::SocketAddr;

use axum::extract::ConnectInfo;

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (StatusCode, String, String) {
    call_from(state, [127, 0, 0, 1], method, uri, token, body).await
}

/// A request from the client at `peer`, as the server's socket gives it.
async fn call_from(
    state: &AppState,
    peer: [u8; 4],
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> (StatusCode, String, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .extension(ConnectInfo(SocketAddr::from((peer, 40_000))));
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some((ctype, bytes)) => req
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from(bytes)),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

struct Setup {
    state: AppState,
    officer: String,
    admin: String,
    demo: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (store, root) = common::published_demo(&dir);
    let demo = dir.path().join("demo");
    let officer = add_user(&store, "olivia", Role::Officer, 90).unwrap();
    let admin = add_user(&store, "adam", Role::Admin, 90).unwrap();
    add_user(&store, "to-remove", Role::Officer, 90).unwrap();
    add_user(&store, "to-rotate", Role::Officer, 90).unwrap();
    Setup {
        state: AppState::with_defaults(store)
            .with_published(root)
            .with_rate_limit(0.0),
        officer,
        admin,
        demo,
        _dir: dir,
    }
}

/// One request per route: the URI with its parameters filled, a body, and the status for an
/// anonymous caller, an officer and an admin.
type Case = (&'static str, Option<(&'static str, Vec<u8>)>, [u16; 3]);

fn case(method: &str, path: &str, demo: &std::path::Path) -> Option<Case> {
    const OPEN: [u16; 3] = [200, 200, 200];
    const OFFICER: [u16; 3] = [401, 200, 200];
    const ADMIN: [u16; 3] = [401, 403, 200];
    Some(match (method, path) {
        ("GET", "/") => ("/", None, OPEN),
        ("GET", "/assets/{file}") => ("/assets/app.js", None, OPEN),
        ("GET", "/api/v1/health") => ("/api/v1/health", None, OPEN),
        ("GET", "/api/v1/status") => ("/api/v1/status", None, OPEN),
        ("GET", "/api/v1/openapi.json") => ("/api/v1/openapi.json", None, OPEN),
        ("GET", "/api/v1/indicators") => ("/api/v1/indicators?limit=2", None, OPEN),
        ("GET", "/api/v1/indicators/registry") => ("/api/v1/indicators/registry", None, OPEN),
        ("GET", "/api/v1/districts") => ("/api/v1/districts?indicator=vacant_units", None, OPEN),
        ("GET", "/api/v1/segregation") => ("/api/v1/segregation?limit=2", None, OPEN),
        ("GET", "/api/v1/pipeline") => ("/api/v1/pipeline?from=2025-01", None, OPEN),
        ("GET", "/api/v1/officer/pipeline") => ("/api/v1/officer/pipeline", None, OFFICER),
        ("GET", "/api/v1/segregation/location-quotients") => (
            "/api/v1/segregation/location-quotients?group=placed_persons",
            None,
            OPEN,
        ),
        ("GET", "/api/v1/scenario") => ("/api/v1/scenario?inflow=40", None, OPEN),
        ("GET", "/api/v1/forecast") => ("/api/v1/forecast?months=3", None, OPEN),
        ("GET", "/api/v1/forecast/backtest") => ("/api/v1/forecast/backtest", None, OPEN),
        ("GET", "/api/v1/officer/forecast") => ("/api/v1/officer/forecast?months=3", None, OFFICER),
        ("GET", "/api/v1/officer/forecast/backtest") => {
            ("/api/v1/officer/forecast/backtest", None, OFFICER)
        }
        ("GET", "/api/v1/provenance/{figure}") => ("/api/v1/provenance/vacant_units", None, OPEN),
        ("GET", "/api/v1/report") => ("/api/v1/report?lang=nl&format=html", None, OPEN),
        ("GET", "/api/v1/catalog") => ("/api/v1/catalog", None, OPEN),
        ("GET", "/api/v1/releases") => ("/api/v1/releases", None, OPEN),
        ("GET", "/api/v1/releases/{version}/{file}") => {
            ("/api/v1/releases/1/vacant-stock.csv", None, OPEN)
        }
        ("GET", "/tiles/districts/{z}/{x}/{y}") => {
            ("/tiles/districts/12/2099/1370.mvt", None, OPEN)
        }
        ("GET", "/tiles/vacant-properties/{z}/{x}/{y}") => {
            ("/tiles/vacant-properties/12/2099/1370.mvt", None, OFFICER)
        }
        ("POST", "/api/v1/ingest/{dataset}") => (
            "/api/v1/ingest/social_housing_waiting_list?source=waiting.tsv",
            Some((
                "application/octet-stream",
                std::fs::read(demo.join("social_housing_waiting_list.tsv")).unwrap(),
            )),
            OFFICER,
        ),
        ("GET", "/api/v1/officer/indicators") => {
            ("/api/v1/officer/indicators?limit=2", None, OFFICER)
        }
        ("GET", "/api/v1/officer/vacant-properties") => {
            ("/api/v1/officer/vacant-properties?limit=2", None, OFFICER)
        }
        ("GET", "/api/v1/officer/jobs") => ("/api/v1/officer/jobs?limit=5", None, OFFICER),
        ("GET", "/api/v1/officer/batches") => ("/api/v1/officer/batches?limit=5", None, OFFICER),
        ("GET", "/api/v1/officer/batches/{batch}/rejected") => {
            ("/api/v1/officer/batches/1/rejected", None, OFFICER)
        }
        ("GET", "/api/v1/officer/cases") => ("/api/v1/officer/cases?limit=5", None, OFFICER),
        ("GET", "/api/v1/officer/cases/{property_id}") => {
            ("/api/v1/officer/cases/VP-000001", None, OFFICER)
        }
        ("PATCH", "/api/v1/officer/cases/{property_id}") => (
            "/api/v1/officer/cases/VP-000001",
            Some(("application/json", br#"{"next_action": "call"}"#.to_vec())),
            OFFICER,
        ),
        ("POST", "/api/v1/officer/cases/{property_id}/contacts") => (
            "/api/v1/officer/cases/VP-000001/contacts",
            Some((
                "application/json",
                br#"{"channel": "phone", "outcome": "no_response"}"#.to_vec(),
            )),
            [401, 201, 201],
        ),
        ("GET", "/api/v1/officer/due-actions") => ("/api/v1/officer/due-actions", None, OFFICER),
        ("GET", "/api/v1/officer/letters") => ("/api/v1/officer/letters", None, OFFICER),
        ("POST", "/api/v1/officer/letters") => (
            "/api/v1/officer/letters",
            Some((
                "application/json",
                br#"{"property_ids": ["VP-000001"], "template": "first_contact", "lang": "en"}"#
                    .to_vec(),
            )),
            OFFICER,
        ),
        ("GET", "/api/v1/admin/users") => ("/api/v1/admin/users", None, ADMIN),
        ("POST", "/api/v1/admin/users") => (
            "/api/v1/admin/users",
            Some((
                "application/json",
                br#"{"name": "newcomer", "role": "officer"}"#.to_vec(),
            )),
            [401, 403, 201],
        ),
        ("DELETE", "/api/v1/admin/users/{name}") => {
            ("/api/v1/admin/users/to-remove", None, [401, 403, 204])
        }
        ("POST", "/api/v1/admin/users/{name}/rotate") => (
            "/api/v1/admin/users/to-rotate/rotate",
            None,
            [401, 403, 200],
        ),
        ("POST", "/api/v1/admin/erase") => (
            "/api/v1/admin/erase",
            Some((
                "application/json",
                br#"{"household_ref": "no-such-household"}"#.to_vec(),
            )),
            ADMIN,
        ),
        ("POST", "/api/v1/admin/retention") => ("/api/v1/admin/retention", None, ADMIN),
        // Only the local operator chooses where the server writes a backup.
        ("POST", "/api/v1/admin/backup") => (
            "/api/v1/admin/backup",
            Some(("application/json", br#"{"dir": "/tmp/x"}"#.to_vec())),
            [401, 403, 403],
        ),
        ("GET", "/api/v1/admin/audit") => ("/api/v1/admin/audit", None, ADMIN),
        ("GET", "/api/v1/admin/memory") => ("/api/v1/admin/memory", None, ADMIN),
        ("GET", "/api/v1/admin/scenario") => ("/api/v1/admin/scenario?inflow=20", None, ADMIN),
        ("POST", "/api/v1/admin/analyze") => (
            "/api/v1/admin/analyze",
            Some(("application/json", br#"{"permutations": 0}"#.to_vec())),
            ADMIN,
        ),
        ("POST", "/api/v1/admin/publish") => (
            "/api/v1/admin/publish",
            Some(("application/json", b"{}".to_vec())),
            ADMIN,
        ),
        // This server has no lake: found for nobody, refused to the others first.
        ("POST", "/api/v1/admin/lake/push") => (
            "/api/v1/admin/lake/push",
            Some(("application/json", b"{}".to_vec())),
            [401, 403, 404],
        ),
        // This server is no region's intake (no lake): a regional officer acts for no
        // municipality; found for nobody else.
        ("POST", "/api/v1/region/releases") => (
            "/api/v1/region/releases",
            Some(("application/zip", b"PK".to_vec())),
            [401, 403, 404],
        ),
        ("GET", "/api/v1/region/restricted/{table}") => (
            "/api/v1/region/restricted/indicators_monthly",
            None,
            [401, 404, 404],
        ),
        ("GET", "/api/v1/admin/lake/package") => ("/api/v1/admin/lake/package", None, ADMIN),
        // This server runs no jobs: found for nobody, refused to the others first.
        ("POST", "/api/v1/admin/jobs/{name}/run") => {
            ("/api/v1/admin/jobs/nightly/run", None, [401, 403, 404])
        }
        _ => return None,
    })
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    let s = setup();
    let callers = [None, Some(s.officer.as_str()), Some(s.admin.as_str())];
    for route in ROUTES.iter() {
        let (uri, body, expected) = case(route.method, route.path, &s.demo).unwrap_or_else(|| {
            panic!(
                "{} {} has no entry in the access matrix: add one to api/tests/auth.rs",
                route.method, route.path
            )
        });
        for (who, (token, want)) in ["anonymous", "officer", "admin"]
            .iter()
            .zip(callers.iter().zip(expected))
        {
            let (status, ctype, text) =
                call(&s.state, route.method, uri, *token, body.clone()).await;
            assert_eq!(
                status.as_u16(),
                want,
                "{} {uri} as {who}: {text}",
                route.method
            );
            if want >= 400 {
                assert_eq!(ctype, "application/problem+json", "{uri} as {who}");
            }
        }
    }

    // A token that is not one is refused even where anyone may read, never taken as anonymous.
    for bad in ["hvn_1_0000", "nonsense", &s.officer[..s.officer.len() - 1]] {
        let (status, _, _) = call(&s.state, "GET", "/api/v1/health", Some(bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
    }
    // The removed user's token stopped working at once.
    let (status, _, users) =
        call(&s.state, "GET", "/api/v1/admin/users", Some(&s.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(users.contains("newcomer") && !users.contains("to-remove"));
    assert!(
        !users.contains("hvn_") && !users.contains("argon2"),
        "{users}"
    );

    // Restricted reads and uploads are in the audit log with who, what and when; public reads
    // are not.
    let (_, _, audit) = call(
        &s.state,
        "GET",
        "/api/v1/admin/audit?limit=1000",
        Some(&s.admin),
        None,
    )
    .await;
    let audit: Vec<serde_json::Value> = serde_json::from_str(&audit).unwrap();
    let seen = |actor: &str, target: &str, status: i64| {
        audit
            .iter()
            .any(|e| e["actor"] == actor && e["target"] == target && e["status"] == status)
    };
    assert!(
        seen("olivia", "/api/v1/officer/vacant-properties", 200),
        "{audit:?}"
    );
    assert!(seen(
        "olivia",
        "/api/v1/ingest/social_housing_waiting_list",
        200
    ));
    assert!(seen("adam", "/api/v1/admin/users", 201));
    assert!(
        seen("olivia", "/api/v1/admin/users", 403),
        "refusals are recorded too"
    );
    assert!(!audit.iter().any(|e| e["target"] == "/api/v1/indicators"));
    assert!(
        audit
            .iter()
            .all(|e| e["at"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
}

#[tokio::test]
async fn a_municipality_s_user_reaches_only_the_region_s_routes_and_only_for_its_municipality() {
    let s = setup();
    let tenant = s
        .state
        .with_writer(|store| {
            Ok(haven_core::users::add_user_of(
                store,
                "be22001-officer",
                Role::Officer,
                90,
                Some("BE22001"),
            )?)
        })
        .await
        .unwrap();
    s.state.forget_verified_tokens();
    for (method, uri) in [
        ("GET", "/api/v1/officer/batches"),
        ("GET", "/api/v1/officer/vacant-properties?limit=2"),
        ("GET", "/api/v1/admin/users"),
        ("GET", "/api/v1/admin/lake/package"),
    ] {
        let (status, _, text) = call(&s.state, method, uri, Some(&tenant), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {text}");
        assert!(
            text.contains("only the region's routes for BE22001"),
            "{text}"
        );
    }
    // Public routes stay open to it, as to anyone.
    let (status, _, _) = call(
        &s.state,
        "GET",
        "/api/v1/indicators?limit=1",
        Some(&tenant),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Another municipality's restricted figures: refused before anything is read.
    let (status, _, text) = call(
        &s.state,
        "GET",
        "/api/v1/region/restricted/indicators_monthly?municipality=BE22021",
        Some(&tenant),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("acts only for BE22001"), "{text}");
    // Its own: this server is no intake.
    let (status, _, text) = call(
        &s.state,
        "GET",
        "/api/v1/region/restricted/indicators_monthly",
        Some(&tenant),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{text}");
    // The users' list names its municipality.
    let (_, _, users) = call(&s.state, "GET", "/api/v1/admin/users", Some(&s.admin), None).await;
    let users: Vec<serde_json::Value> = serde_json::from_str(&users).unwrap();
    assert!(
        users
            .iter()
            .any(|u| u["name"] == "be22001-officer" && u["municipality"] == "BE22001"),
        "{users:?}"
    );
}

#[tokio::test]
async fn restricted_views_show_what_the_public_ones_withhold() {
    let s = setup();
    // A withheld public value, and the same cell for an officer.
    let (_, _, public) = call(
        &s.state,
        "GET",
        "/api/v1/indicators?indicator=placements_started&limit=1000",
        None,
        None,
    )
    .await;
    let public: serde_json::Value = serde_json::from_str(&public).unwrap();
    let hidden = public["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["withheld"] == true)
        .expect("a withheld value in the demo")
        .clone();
    let uri = format!(
        "/api/v1/officer/indicators?indicator=placements_started&area={}&period={}",
        hidden["area_code"].as_str().unwrap(),
        hidden["period"].as_str().unwrap()
    );
    let (status, _, officer) = call(&s.state, "GET", &uri, Some(&s.officer), None).await;
    assert_eq!(status, StatusCode::OK);
    let officer: serde_json::Value = serde_json::from_str(&officer).unwrap();
    assert!(officer["items"][0]["value"].is_number(), "{officer}");
    // Addresses only for officers.
    let (_, _, rows) = call(
        &s.state,
        "GET",
        "/api/v1/officer/vacant-properties?limit=3",
        Some(&s.officer),
        None,
    )
    .await;
    let rows: serde_json::Value = serde_json::from_str(&rows).unwrap();
    assert!(rows["items"][0]["address"].is_string(), "{rows}");
    assert_eq!(rows["total"], 2500);
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_and_when_to_retry() {
    let s = setup();
    let state = s.state.with_rate_limit(2.0);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(call(&state, "GET", "/api/v1/health", None, None).await.0);
    }
    // Ten seconds' worth (20) pass at once, then the bucket is empty.
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(statuses[24], StatusCode::TOO_MANY_REQUESTS);
    let res = router(state.clone())
        .oneshot(
            Request::get("/api/v1/health")
                .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    // A token, any token, is the same client: the bucket is the address's.
    for token in [s.officer.as_str(), "hvn_1_made-up", "hvn_2_another"] {
        let (status, _, _) = call(&state, "GET", "/api/v1/health", Some(token), None).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{token}");
    }
    // Another address has its own bucket.
    let (status, _, _) = call_from(
        &state,
        [127, 0, 0, 2],
        "GET",
        "/api/v1/health",
        Some(&s.officer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
