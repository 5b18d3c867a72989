//! The query parameters and tile coordinates on arbitrary input, against a real `haven serve`
//! over loopback: whatever the path, the parameters and their values (huge, negative, not
//! numbers, not UTF-8 once decoded, repeated, empty), the answer is a clear 4xx or a 2xx,
//! never a 5xx, a dropped connection or a dead server; and the server's peak resident memory
//! stays bounded. Property tests (proptest) on the stable toolchain.

mod common;

use proptest::prelude::*;

use common::Env;

/// Every public and officer route that takes parameters or coordinates, with its parameters.
const ROUTES: &[(&str, &[&str])] = &[
    (
        "/api/v1/indicators",
        &[
            "area",
            "period",
            "indicator",
            "level",
            "limit",
            "cursor",
            "format",
        ],
    ),
    ("/api/v1/indicators/registry", &["format"]),
    (
        "/api/v1/segregation",
        &["period", "index", "limit", "cursor", "group"],
    ),
    (
        "/api/v1/segregation/location-quotients",
        &["area", "period", "group", "limit", "cursor"],
    ),
    ("/api/v1/districts", &["format", "limit", "cursor", "bbox"]),
    ("/api/v1/scenario", &["inflow", "lq_cap"]),
    ("/api/v1/releases", &["limit"]),
    ("/api/v1/catalog", &["format"]),
    (
        "/api/v1/officer/vacant-properties",
        &[
            "district",
            "status",
            "owner_type",
            "condition",
            "min_months_vacant",
            "limit",
            "cursor",
        ],
    ),
    (
        "/api/v1/officer/indicators",
        &["area", "period", "limit", "cursor"],
    ),
    ("/api/v1/officer/batches", &["dataset", "limit"]),
    ("/api/v1/officer/jobs", &["job", "limit"]),
];

/// A value as an attacker would send it: numbers at and past every bound, text, bytes.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u32..2000).prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        Just("99999999999999999999999999999999".to_string()),
        Just("-0".to_string()),
        Just("NaN".to_string()),
        Just(String::new()),
        "[A-Za-z0-9_ .,:;/-]{0,40}",
        "\\PC{0,24}",
        // Percent-encoded bytes, invalid UTF-8 among them.
        proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect()),
        // A long value.
        (1usize..20_000).prop_map(|n| "a".repeat(n)),
    ]
}

/// Percent-encodes what a URL cannot carry as it is (values made of %XX stay as they are).
fn encode(s: &str) -> String {
    let escaped = s.len().is_multiple_of(3)
        && s.as_bytes()
            .chunks(3)
            .all(|c| c[0] == b'%' && c[1].is_ascii_hexdigit() && c[2].is_ascii_hexdigit());
    if escaped && !s.is_empty() {
        return s.to_string();
    }
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A request path with a query built from the route's parameters (and a few it does not
/// take), each value arbitrary, some repeated.
fn query_request() -> impl Strategy<Value = String> {
    (0..ROUTES.len())
        .prop_flat_map(|r| {
            let (path, names) = ROUTES[r];
            let mut all: Vec<&'static str> = names.to_vec();
            all.extend(["unknown", "limit", "area"]);
            (
                Just(path),
                proptest::collection::vec((proptest::sample::select(all), value()), 0..6),
            )
        })
        .prop_map(|(path, pairs)| {
            let q: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            if q.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", q.join("&"))
            }
        })
}

/// A tile path: a layer (or not one), coordinates that are numbers in and far out of range,
/// negative, or not numbers, and an extension.
fn tile_request() -> impl Strategy<Value = String> {
    let coord = prop_oneof![
        (0i64..40).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        "[a-z%.-]{0,6}",
    ];
    (
        proptest::sample::select(vec!["districts", "vacant-properties", "nothing"]),
        coord.clone(),
        coord.clone(),
        coord,
        proptest::sample::select(vec![".mvt", ".pbf", "", ".json", ".mvt.gz"]),
    )
        .prop_map(|(layer, z, x, y, ext)| {
            format!(
                "/tiles/{layer}/{}/{}/{}{ext}",
                encode(&z),
                encode(&x),
                encode(&y)
            )
        })
}

/// The server's peak resident memory, MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap()
        / 1024.0
}

#[test]
fn arbitrary_parameters_and_tile_coordinates_get_clear_answers() {
    let env = Env::new();
    env.with_demo();
    let token = env.add_user("fuzz", "officer");
    let (server, url) = env.serve_with(&[("HAVEN_RATE_LIMIT", "0")], None);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let ask = |path: &str, officer: bool| -> Result<(), TestCaseError> {
        let mut req = agent.get(format!("{url}{path}"));
        if officer {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        let mut res = req
            .call()
            .map_err(|e| TestCaseError::fail(format!("{path}: no answer: {e}")))?;
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_vec().unwrap_or_default();
        prop_assert!(
            status < 500,
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if (400..500).contains(&status) && status != 404 && !path.starts_with("/tiles/") {
            // A refusal says why, in the one error shape.
            let text = String::from_utf8_lossy(&body);
            prop_assert!(text.contains("\"detail\""), "{path}: {status} {text}");
        }
        Ok(())
    };
    let config = ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(path in query_request(), officer in any::<bool>())| {
        ask(&path, officer)?;
    });
    proptest!(config, |(path in tile_request(), officer in any::<bool>())| {
        ask(&path, officer)?;
    });
    // Still serving, within bounded memory.
    let status = agent.get(format!("{url}/api/v1/status")).call().unwrap();
    assert_eq!(status.status(), 200);
    let peak = peak_mib(server.0.id());
    assert!(peak < 1024.0, "the server peaked at {peak:.0} MiB");
}
