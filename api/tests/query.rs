//! The query API on the demo municipality, in process: the registry, published indicators with
//! keyset paging (also while the data changes), validators and 304s, and errors.

use std::collections::HashSet;

use api::{AppState, router};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    content_type: String,
    etag: Option<String>,
    cache: Option<String>,
    body: Value,
}

async fn get(state: &AppState, uri: &str, if_none_match: Option<&str>) -> Answer {
    let mut req = Request::get(uri);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    let res = router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let h = |name| {
        res.headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_string())
    };
    let (content_type, etag, cache) = (
        h(header::CONTENT_TYPE).unwrap_or_default(),
        h(header::ETAG),
        h(header::CACHE_CONTROL),
    );
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        content_type,
        etag,
        cache,
        body,
    }
}

fn analyze(store: &ingest::Store) {
    analytics::analyze_with(
        store.conn(),
        &analytics::AnalyzeOptions::default(),
        &analytics::NoProgress,
    )
    .unwrap();
}

/// A release of what is analysed (what the public routes answer from).
fn release(store: &ingest::Store) {
    let root = haven_core::settings::default_published(store.path());
    haven_core::publish::publish(store, &haven_core::publish::PublishOptions::new(root)).unwrap();
}

/// Loads one more vacant property of `units` into `area` through the state (a write), analyses
/// again and makes a release (the public sees the change only then); the load's report.
async fn add_vacant(
    state: &AppState,
    dir: &tempfile::TempDir,
    id: &str,
    area: &str,
    units: u32,
) -> ingest::Report {
    let extra = dir.path().join(format!("{id}.csv"));
    std::fs::write(
        &extra,
        format!(
            "property_id,district_code,owner_type,property_type,units,vacant_since,condition,status\n\
             {id},{area},private,house,{units},2025-01-01,ready,vacant\n"
        ),
    )
    .unwrap();
    state
        .with_store_mut(move |store| {
            let report = ingest::ingest(
                store,
                "vacant_properties",
                &ingest::Input::from_path(&extra)?,
                &ingest::IngestOptions::default(),
                &ingest::NoProgress,
            )?;
            analyze(store);
            release(store);
            Ok(report)
        })
        .await
        .unwrap()
}

fn demo_store() -> (ingest::Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    ingest::demo::generate_and_load(&ingest::demo::DemoSpec::standard(42), dir.path(), &store)
        .unwrap();
    analyze(&store);
    release(&store);
    (store, dir)
}

#[tokio::test]
async fn the_registry_lists_every_indicator_with_validators() {
    let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
    let a = get(&state, "/api/v1/indicators/registry", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type, "application/json");
    let items = a.body.as_array().unwrap();
    assert_eq!(items.len(), analytics::registry::INDICATORS.len());
    assert!(
        items
            .iter()
            .all(|i| i["en"].is_string() && i["nl"].is_string())
    );
    assert!(a.cache.unwrap().contains("max-age"));
    let again = get(&state, "/api/v1/indicators/registry", a.etag.as_deref()).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.etag, a.etag);
}

#[tokio::test]
async fn indicators_page_by_keyset_without_duplicates_or_gaps_while_data_changes() {
    let (store, dir) = demo_store();
    let state = AppState::with_defaults(store);
    let first = get(&state, "/api/v1/indicators?level=district&limit=1", None).await;
    let area = first.body["items"][0]["area_code"]
        .as_str()
        .unwrap()
        .to_string();
    let per_area = 36 * analytics::registry::INDICATORS.len();

    let mut seen = HashSet::new();
    let mut last_key: Option<(String, String, String)> = None;
    let mut uri = format!("/api/v1/indicators?area={area}&limit=250");
    let mut pages = 0;
    loop {
        let a = get(&state, &uri, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["total"].as_u64().unwrap() as usize, per_area);
        for item in a.body["items"].as_array().unwrap() {
            let key = (
                item["area_code"].as_str().unwrap().to_string(),
                item["period"].as_str().unwrap().to_string(),
                item["indicator"].as_str().unwrap().to_string(),
            );
            assert!(last_key.as_ref().is_none_or(|k| *k < key), "ordered by key");
            assert!(seen.insert(key.clone()), "duplicate {key:?}");
            if item["withheld"].as_bool().unwrap() {
                assert!(item["value"].is_null(), "withheld shows no value: {item}");
            }
            last_key = Some(key);
        }
        pages += 1;
        if pages == 1 {
            // The data changes between pages: a new load and a new analysis run.
            let report = add_vacant(&state, &dir, "NEW-1", &area, 2).await;
            assert_eq!(report.rows_inserted, 1);
        }
        match a.body["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/indicators?area={area}&limit=250&cursor={c}"),
            None => break,
        }
    }
    assert!(pages > 2);
    assert_eq!(seen.len(), per_area, "every item once over {pages} pages");
}

#[tokio::test]
async fn withheld_values_are_null_and_flagged_and_304s_follow_the_data() {
    let (store, _dir) = demo_store();
    let state = AppState::with_defaults(store);
    let uri =
        "/api/v1/indicators?indicator=placements_started,vacant_units&level=district&limit=1000";
    let a = get(&state, uri, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let items = a.body["items"].as_array().unwrap();
    let withheld: Vec<&Value> = items.iter().filter(|i| i["withheld"] == true).collect();
    assert!(!withheld.is_empty(), "the demo has small placement counts");
    assert!(
        withheld
            .iter()
            .all(|i| i["value"].is_null() && i["indicator"] == "placements_started")
    );
    assert!(items.iter().all(|i| i["indicator"] != "placements_started"
        || i["withheld"] == true
        || !(1.0..5.0).contains(&i["value"].as_f64().unwrap())));
    let tag = a.etag.clone().unwrap();
    assert_eq!(
        get(&state, uri, Some(&tag)).await.status,
        StatusCode::NOT_MODIFIED
    );
    let other = get(&state, "/api/v1/indicators?limit=5", None).await;
    assert_ne!(other.etag.unwrap(), tag, "another query has another tag");
    for uri in [
        "/api/v1/districts?indicator=vacant_units",
        "/api/v1/segregation?group=placed_persons",
        "/api/v1/scenario?inflow=40",
        "/api/v1/segregation/location-quotients?group=placed_persons",
    ] {
        let a = get(&state, uri, None).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        let again = get(&state, uri, a.etag.as_deref()).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert_eq!(again.etag, a.etag, "{uri}");
    }
}

#[tokio::test]
async fn before_any_analysis_the_answer_says_what_to_do() {
    let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
    for uri in [
        "/api/v1/indicators",
        "/api/v1/districts",
        "/api/v1/scenario?inflow=40",
        "/api/v1/segregation/location-quotients?group=placed_persons",
    ] {
        let a = get(&state, uri, None).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(a.content_type, "application/problem+json", "{uri}");
        assert!(
            a.body["detail"].as_str().unwrap().contains("haven analyze"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn bad_queries_get_one_problem_shape() {
    let state = AppState::with_defaults(ingest::Store::open_in_memory().unwrap());
    for (uri, words) in [
        (
            "/api/v1/indicators?indicator=nope",
            "unknown indicator 'nope'",
        ),
        ("/api/v1/indicators?level=street", "level 'street'"),
        ("/api/v1/indicators?period=2025-1", "YYYY-MM"),
        ("/api/v1/indicators?limit=0", "limit must be between"),
        ("/api/v1/indicators?cursor=zz", "cursor 'zz'"),
        ("/api/v1/indicators?colour=red", "colour"),
    ] {
        let a = get(&state, uri, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(a.content_type, "application/problem+json", "{uri}");
        assert_eq!(a.body["status"], 400);
        assert!(
            a.body["detail"].as_str().unwrap().contains(words),
            "{uri}: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn districts_segregation_and_the_scenario_answer_from_published_tables() {
    let (store, _dir) = demo_store();
    let indices: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM segregation_published", [], |r| {
            r.get(0)
        })
        .unwrap();
    let state = AppState::with_defaults(store);

    // Segregation: every value once over the pages, in key order.
    let mut seen = HashSet::new();
    let mut last = (String::new(), String::new(), String::new());
    let mut uri = "/api/v1/segregation?limit=97".to_string();
    let mut changes = None;
    loop {
        let a = get(&state, &uri, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.body["total"], indices);
        changes.get_or_insert(a.body["changes"].clone());
        for i in a.body["items"].as_array().unwrap() {
            let key = (
                i["period"].as_str().unwrap().to_string(),
                i["group"].as_str().unwrap().to_string(),
                i["index"].as_str().unwrap().to_string(),
            );
            assert!(key > last, "{key:?} after {last:?}");
            assert!(seen.insert(key.clone()));
            last = key;
        }
        match a.body["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/segregation?limit=97&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, indices);
    let changes = changes.unwrap();
    assert!(
        changes
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["significant"].is_boolean() && c["ci_low"].as_f64() <= c["ci_high"].as_f64()),
        "{changes}"
    );

    // Districts: RFC 7946 features with the month's values; withheld ones null and listed.
    let a = get(
        &state,
        "/api/v1/districts?indicator=vacant_units,placements_started",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type, "application/geo+json");
    let features = a.body["features"].as_array().unwrap();
    assert_eq!(features.len(), 30);
    for f in features {
        let p = &f["properties"];
        let withheld: Vec<&str> = p["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(p["vacant_units"].is_number());
        assert_eq!(
            p["placements_started"].is_null(),
            withheld.contains(&"placements_started"),
            "{p}"
        );
        assert!(withheld.iter().all(|w| *w == "placements_started"), "{p}");
    }

    // The scenario: allocations and the D they produce, never a district's quotient.
    let a = get(&state, "/api/v1/scenario?inflow=120&lq_cap=1.5", None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    for allocation in ["fastest", "low_concentration"] {
        let al = &a.body[allocation];
        assert!(al["max_lq_after"].is_null());
        assert!(
            al["districts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["lq_after"].is_null())
        );
    }
    for bad in [
        "inflow=0",
        "inflow=10&lq_cap=0.5",
        "inflow=ten",
        "inflow=10&cap=2",
    ] {
        let a = get(&state, &format!("/api/v1/scenario?{bad}"), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.content_type, "application/problem+json");
    }
}

#[tokio::test]
async fn a_remembered_answer_is_not_served_once_the_data_changed() {
    let (store, dir) = demo_store();
    let state = AppState::with_defaults(store);
    let area: String = state
        .with_store(|s| {
            Ok(s.conn()
                .query_row("SELECT min(district_code) FROM districts", [], |r| r.get(0))
                .unwrap())
        })
        .await
        .unwrap();
    let uri =
        format!("/api/v1/indicators?area={area}&indicator=vacant_units&from=2026-10&to=2026-10");
    let before = get(&state, &uri, None).await;
    let again = get(&state, &uri, None).await;
    assert_eq!(before.body, again.body);
    assert_eq!(before.etag, again.etag);
    add_vacant(&state, &dir, "CACHE-1", &area, 3).await;
    let after = get(&state, &uri, None).await;
    let value = |a: &Answer| a.body["items"][0]["value"].as_f64().unwrap();
    assert_eq!(value(&after), value(&before) + 3.0);
    assert_ne!(after.etag, before.etag);
    // The client's old ETag no longer matches.
    let a = get(&state, &uri, before.etag.as_deref()).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn a_stale_import_is_marked_in_the_catalogue_and_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    ingest::demo::generate_and_load(&ingest::demo::DemoSpec::standard(42), dir.path(), &store)
        .unwrap();
    analyze(&store);
    let root = dir.path().join("published");
    haven_core::publish::publish(
        &store,
        &haven_core::publish::PublishOptions::new(root.clone()),
    )
    .unwrap();
    // The register import failed last; the waiting-list one loaded ten days ago and may stay
    // unchanged for a week; the incentives one loaded just now.
    jobs::migrate(&store).unwrap();
    store
        .conn()
        .execute_batch(
            "INSERT INTO job_runs (run_id, job, started_at, finished_at, outcome, dataset, stale_after_hours) VALUES
               (1, 'register', now() - INTERVAL 2 DAY, now() - INTERVAL 2 DAY, 'loaded', 'vacant_properties', NULL),
               (2, 'register', now(), now(), 'failed', 'vacant_properties', NULL),
               (3, 'waiting', now() - INTERVAL 10 DAY, now() - INTERVAL 10 DAY, 'loaded', 'social_housing_waiting_list', 168),
               (4, 'waiting', now(), now(), 'unchanged', 'social_housing_waiting_list', 168),
               (5, 'incentives', now(), now(), 'loaded', 'landlord_incentives', 168)",
        )
        .unwrap();
    let state = AppState::with_defaults(store).with_published(root);
    let status = get(&state, "/api/v1/status", None).await;
    let fresh = status.body["freshness"].as_array().unwrap();
    let stale = |d: &str| {
        fresh
            .iter()
            .find(|f| f["dataset"] == d)
            .unwrap_or_else(|| panic!("{d} in {fresh:?}"))["stale"]
            .as_bool()
            .unwrap()
    };
    assert!(stale("vacant_properties") && stale("social_housing_waiting_list"));
    assert!(!stale("landlord_incentives"));
    assert!(
        fresh.iter().all(|f| f.get("reason").is_none()),
        "no job details in public"
    );

    let res = router(state.clone())
        .oneshot(
            Request::get("/api/v1/catalog?format=ttl")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let ttl =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let notes_of = |series: &str| {
        let start = ttl
            .find(&format!("/api/v1/datasets/{series}>\n"))
            .unwrap_or_else(|| panic!("{series} series"));
        let block = &ttl[start..];
        let block = &block[..block.find(" .\n").unwrap()];
        block
            .lines()
            .find(|l| l.contains("adms:versionNotes"))
            .map(String::from)
    };
    let vacant = notes_of("vacant-stock").expect("the vacant stock is marked stale");
    assert!(
        vacant.contains("vacant_properties: its last scheduled import failed"),
        "{vacant}"
    );
    let social = notes_of("social-housing").expect("the waiting list is marked stale");
    assert!(social.contains("has not changed"), "{social}");
    assert!(notes_of("landlord-incentives").is_none());
    assert!(notes_of("segregation").is_none());
}

#[tokio::test]
async fn location_quotients_match_the_population_and_withhold_what_placements_withhold() {
    let (store, _dir) = demo_store();
    // By hand from the loaded population (its `total` rows are t_i): LQ_i = (x_i / t_i) / (X / T),
    // for the latest period.
    let by_hand: std::collections::HashMap<String, f64> = store
        .conn()
        .prepare(
            "WITH p AS (SELECT * FROM population WHERE period = (SELECT max(period) FROM population)),
                  d AS (SELECT district_code, sum(persons) FILTER (WHERE \"group\" = 'international_protection') AS x,
                               sum(persons) FILTER (WHERE \"group\" = 'total') AS t FROM p GROUP BY district_code)
             SELECT district_code, (x / t) / ((SELECT sum(x) FROM d) / (SELECT sum(t) FROM d)) FROM d",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let state = AppState::with_defaults(store);
    let a = get(
        &state,
        "/api/v1/segregation/location-quotients?group=international_protection",
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let items = a.body["items"].as_array().unwrap();
    assert_eq!(items.len(), by_hand.len());
    for i in items {
        let want = by_hand[i["district_code"].as_str().unwrap()];
        let got = i["lq"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{i}: {want}");
        assert_eq!(i["withheld"], false);
    }

    // Persons placed: withheld exactly where their count is withheld on the districts.
    let lq = get(
        &state,
        "/api/v1/segregation/location-quotients?group=placed_persons",
        None,
    )
    .await;
    let period = lq.body["period"].as_str().unwrap().to_string();
    let districts = get(
        &state,
        &format!("/api/v1/districts?period={period}&indicator=placements_active_persons"),
        None,
    )
    .await;
    let withheld: HashSet<&str> = districts.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["withheld"].as_array().unwrap().len() == 1)
        .map(|f| f["properties"]["district_code"].as_str().unwrap())
        .collect();
    assert!(!withheld.is_empty(), "the demo withholds some placements");
    for i in lq.body["items"].as_array().unwrap() {
        let hidden = withheld.contains(i["district_code"].as_str().unwrap());
        assert_eq!(i["withheld"], hidden, "{i}");
        assert_eq!(i["lq"].is_null(), hidden, "{i}");
    }
    let bad = get(
        &state,
        "/api/v1/segregation/location-quotients?group=nobody",
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// A body that never ends: 64 KiB of `a` after 64 KiB, forever.
struct Endless;

impl http_body::Body for Endless {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(
            axum::body::Bytes::from_static(&[b'a'; 65_536]),
        ))))
    }
}

/// An upload that never ends is refused once it passes the server's limit, with the problem
/// shape, and nothing was loaded: the server stops reading, it does not wait for the end.
#[tokio::test]
async fn an_endless_upload_is_refused_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest::Store::open(dir.path().join("haven.duckdb")).unwrap();
    let token = haven_core::users::add_user(&store, "olivia", haven_core::users::Role::Officer, 90)
        .unwrap();
    let mut settings = haven_core::Settings::defaults(store.path());
    settings.server.max_upload = 1 << 20;
    let state = AppState::new(store, settings).unwrap().with_rate_limit(0.0);
    let req = Request::post("/api/v1/ingest/districts?source=endless.geojson")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::new(Endless))
        .unwrap();
    let res = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("larger than the server takes (1 MiB"),
        "{problem}"
    );
}
