//! Open data as a researcher meets it: the demo is loaded and published, a late load makes a
//! second release, `haven serve` serves them on loopback, and everything downloaded is read by
//! outside tools (tests/open_data/validate.py: Frictionless, pyarrow, geopandas, rdflib), which
//! also compare the formats and the API with each other.

mod common;

use std::path::Path;

use common::Env;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// Status, headers we look at, and body.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut res = req.call().expect("server answers");
    let status = res.status().as_u16();
    let h = res.headers().clone();
    let body = res
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, h, body)
}

fn header(h: &ureq::http::HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn releases_read_in_frictionless_pyarrow_geopandas_and_rdflib() {
    let env = Env::new();
    let run = env.run(&["publish"]).code_is(1);
    assert!(
        run.stderr().contains("nothing to publish yet"),
        "{}",
        run.stderr()
    );
    let run = env.with_demo();
    assert!(
        run.stderr().contains("publish: release 1 in"),
        "{}",
        run.stderr()
    );
    let run = env.run(&["publish"]).ok();
    assert!(
        run.stderr().contains("nothing changed since release 1"),
        "{}",
        run.stderr()
    );
    // Late placements: the load analyses, and the next `haven publish` makes release 2.
    let late = env.path("late_placements.csv");
    ingest::demo::write_late_placements(&env.query(), &late, 25).unwrap();
    let run = env
        .run(&["ingest", "placements", late.to_str().unwrap()])
        .ok();
    assert!(
        run.stderr().contains("change at the next release"),
        "{}",
        run.stderr()
    );
    let run = env.run(&["publish"]).ok();
    assert!(
        run.stderr().contains("publish: release 2 in"),
        "{}",
        run.stderr()
    );
    let v1_manifest = std::fs::read(env.path("published/v1/manifest.json")).unwrap();
    let officer = env.add_user("olivia", "officer");

    let (_server, url) = env.serve();
    let out = env.path("download");
    std::fs::create_dir_all(&out).unwrap();
    let (status, _, body) = get(&format!("{url}/api/v1/releases"), &[]);
    assert_eq!(status, 200);
    let releases: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(releases[0]["version"], 2, "newest first");
    assert_eq!(releases[1]["version"], 1);
    let latest = &releases[0];
    let mut files: Vec<String> = latest["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["files"].as_array().unwrap())
        .map(|f| f["url"].as_str().unwrap().to_string())
        .collect();
    files.push(latest["package"].as_str().unwrap().to_string());
    files.push(format!("{}/manifest.json", latest["url"].as_str().unwrap()));
    for f in &files {
        let (status, h, body) = get(&format!("{url}{f}"), &[]);
        assert_eq!(status, 200, "{f}");
        assert_eq!(
            header(&h, "cache-control"),
            "public, max-age=31536000, immutable",
            "{f}"
        );
        let name = f.rsplit('/').next().unwrap();
        std::fs::write(out.join(name), body).unwrap();
    }
    // A file's ETag is its SHA-256; the client holding it gets 304.
    let csv = format!("{url}/api/v1/releases/2/indicators.csv");
    let (_, h, _) = get(&csv, &[]);
    let etag = header(&h, "etag");
    assert_eq!(etag.len(), 66, "{etag}");
    assert_eq!(get(&csv, &[("If-None-Match", &etag)]).0, 304);
    // Release 1 is still served, unchanged.
    let (status, _, body) = get(&format!("{url}/api/v1/releases/1/manifest.json"), &[]);
    assert_eq!((status, body), (200, v1_manifest));
    // Only the files a release lists; errors in the one problem shape.
    for bad in [
        "/api/v1/releases/2/haven.duckdb",
        "/api/v1/releases/2/..%2F..%2Fhaven.duckdb",
        "/api/v1/releases/9/indicators.csv",
        "/api/v1/releases/two/indicators.csv",
        "/api/v1/releases/2/districts.geojson?hxl=true",
        "/api/v1/catalog?format=xml",
    ] {
        let (status, h, body) = get(&format!("{url}{bad}"), &[]);
        assert!(status == 404 || status == 400, "{bad}: {status}");
        assert_eq!(
            header(&h, "content-type"),
            "application/problem+json",
            "{bad}"
        );
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["status"], status, "{bad}");
    }
    // The catalogue in both syntaxes, and a CSV with its HXL row.
    let (status, h, ttl) = get(
        &format!("{url}/api/v1/catalog"),
        &[("Accept", "text/turtle")],
    );
    assert_eq!(status, 200);
    assert!(header(&h, "content-type").starts_with("text/turtle"));
    std::fs::write(out.join("catalog.ttl"), ttl).unwrap();
    let (status, h, jsonld) = get(&format!("{url}/api/v1/catalog"), &[]);
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "application/ld+json");
    let etag = header(&h, "etag");
    assert_eq!(
        get(
            &format!("{url}/api/v1/catalog"),
            &[("If-None-Match", &etag)]
        )
        .0,
        304
    );
    std::fs::write(out.join("catalog.jsonld"), jsonld).unwrap();
    let (status, _, hxl) = get(
        &format!("{url}/api/v1/releases/latest/indicators.csv?hxl=true"),
        &[],
    );
    assert_eq!(status, 200);
    std::fs::write(out.join("hxl.csv"), hxl).unwrap();
    // A public vector tile and an officer's.
    let (status, h, tile) = get(&format!("{url}/tiles/districts/12/2099/1370.mvt"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/vnd.mapbox-vector-tile"
    );
    std::fs::write(out.join("districts.mvt"), tile).unwrap();
    assert_eq!(
        get(
            &format!("{url}/tiles/vacant-properties/12/2099/1370.mvt"),
            &[]
        )
        .0,
        401,
        "points are for officers"
    );
    let (status, _, tile) = get(
        &format!("{url}/tiles/vacant-properties/14/8396/5482.mvt"),
        &[("Authorization", &format!("Bearer {officer}"))],
    );
    assert_eq!(status, 200);
    std::fs::write(out.join("vacant.mvt"), tile).unwrap();
    // Every personal indicator value the API gives, all pages, to compare with the files.
    let personal: Vec<&str> = analytics::registry::INDICATORS
        .iter()
        .filter(|i| i.class == analytics::registry::Class::Personal)
        .map(|i| i.id)
        .collect();
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, _, body) = get(
            &format!(
                "{url}/api/v1/indicators?indicator={}&limit=1000{cursor}",
                personal.join(",")
            ),
            &[],
        );
        assert_eq!(status, 200);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    std::fs::write(
        out.join("api_personal.json"),
        serde_json::to_vec(&items).unwrap(),
    )
    .unwrap();

    let check = std::process::Command::new(common::venv_tool("python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/open_data/validate.py"))
        .arg(&out)
        .output()
        .expect("python runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        check.status.success(),
        "outside readers refused a release:\n{report}"
    );
    for reader in [
        "frictionless: valid",
        "pyarrow:",
        "geopandas:",
        "hxl:",
        "rdflib:",
        "formats agree:",
    ] {
        assert!(
            report.contains(reader),
            "{reader} did not report:\n{report}"
        );
    }
    eprintln!("{report}");
}
