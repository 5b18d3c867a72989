//! The shapes of the answers, as insta snapshots (api/tests/snapshots/): the registry and the
//! OpenAPI document whole, and for the data-dependent answers — the indicator page, the districts
//! GeoJSON, the DCAT catalogue, an error — their structure with the values that change with the
//! data and the date masked. A change of shape shows up as a snapshot difference to review.

mod common;

use api::{AppState, router};
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn get(state: &AppState, uri: &str, accept: Option<&str>) -> (String, Vec<u8>) {
    let mut req = Request::get(uri).header(header::HOST, "haven.test");
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let res = router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let ctype = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    (
        ctype,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// A value's structure: objects keep their keys, arrays their first element, the rest becomes
/// its type.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => json!(a.first().map(shape).into_iter().collect::<Vec<_>>()),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Bool(_) => json!("boolean"),
        Value::Null => json!("null"),
    }
}

fn demo() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (store, root) = common::published_demo(&dir);
    (AppState::with_defaults(store).with_published(root), dir)
}

#[tokio::test]
async fn answers_keep_their_shape() {
    let (state, _dir) = demo();
    let json = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap();

    let (_, registry) = get(&state, "/api/v1/indicators/registry", None).await;
    insta::assert_json_snapshot!("registry", json(&registry));
    let (_, openapi) = get(&state, "/api/v1/openapi.json", None).await;
    insta::assert_json_snapshot!("openapi", json(&openapi));

    let (ctype, page) = get(&state, "/api/v1/indicators?limit=3", None).await;
    assert_eq!(ctype, "application/json");
    insta::assert_json_snapshot!("indicator_page_shape", shape(&json(&page)));
    let (ctype, districts) = get(&state, "/api/v1/districts?indicator=vacant_units", None).await;
    assert_eq!(ctype, "application/geo+json");
    let mut d = json(&districts);
    // The withheld list is empty or not depending on the month: keep its type only.
    d["features"][0]["properties"]["withheld"] = json!([]);
    insta::assert_json_snapshot!("districts_geojson_shape", shape(&d));
    let (ctype, problem) = get(&state, "/api/v1/indicators?limit=0", None).await;
    assert_eq!(ctype, "application/problem+json");
    insta::assert_json_snapshot!("problem", json(&problem));

    let (ctype, ttl) = get(&state, "/api/v1/catalog", Some("text/turtle")).await;
    assert!(ctype.starts_with("text/turtle"));
    let ttl = String::from_utf8(ttl).unwrap();
    insta::with_settings!({filters => vec![
        (r#""\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"\^\^xsd:dateTime"#, "[time]"),
        (r#""\d{4}-\d{2}-\d{2}"\^\^xsd:date"#, "[date]"),
        (r#""[0-9a-f]{64}"\^\^xsd:hexBinary"#, "[sha256]"),
        (r#""\d+"\^\^xsd:nonNegativeInteger"#, "[bytes]"),
        (r#""POLYGON\(\([^"]*\)\)"\^\^gsp:wktLiteral"#, "[bbox]"),
        (r#"release 1 of [0-9TZ:-]+"#, "release 1 of [time]"),
    ]}, {
        insta::assert_snapshot!("catalog_ttl", ttl);
    });
}
