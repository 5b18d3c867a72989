//! The layers of ARCHITECTURE.md, checked on the manifests: each crate depends only on crates
//! before it (ingest → analytics → disclosure → api → jobs → the binary), only `api` (and the
//! binary above it) knows HTTP, only the binary uses anyhow, and every crate of the workspace
//! has its section on the page.

use std::path::Path;

/// The workspace crates in their layer order.
const LAYERS: &[&str] = &[
    "ingest",
    "analytics",
    "disclosure",
    "dashboard",
    "api",
    "jobs",
];

/// Crates that speak HTTP as a server.
const HTTP: &[&str] = &["axum", "tower", "hyper", "http-body"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names under `[dependencies]` of a manifest.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.']).next().unwrap().trim();
            out.push(name.to_string());
        }
    }
    out
}

fn violations(layer: usize, deps: &[String]) -> Vec<String> {
    let name = LAYERS[layer];
    let mut bad = Vec::new();
    for d in deps {
        if let Some(at) = LAYERS.iter().position(|l| l == d)
            && at >= layer
        {
            bad.push(format!("{name} depends on {d}, a later layer"));
        }
        if name != "api" && name != "jobs" && HTTP.contains(&d.as_str()) {
            bad.push(format!("{name} depends on {d}: only api knows HTTP"));
        }
        if d == "anyhow" {
            bad.push(format!(
                "{name} depends on anyhow: libraries have one error type each; anyhow only in the binary"
            ));
        }
    }
    bad
}

#[test]
fn crates_depend_only_on_earlier_layers() {
    let mut bad = Vec::new();
    for (i, c) in LAYERS.iter().enumerate() {
        let manifest = std::fs::read_to_string(root().join(c).join("Cargo.toml")).unwrap();
        bad.extend(violations(i, &dependencies(&manifest)));
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_map_names_every_crate() {
    let workspace = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = workspace
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("members");
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for c in LAYERS {
        assert!(members.contains(&format!("\"{c}\"")), "{c} is not a member");
        assert!(
            map.contains(&format!("### `{c}/`")),
            "ARCHITECTURE.md has no section for {c}/"
        );
    }
    // And no member is missing from the layers.
    let listed = members.matches('"').count() / 2;
    assert_eq!(listed, LAYERS.len(), "a workspace member is not in LAYERS");
}

/// The check can fail: analytics reaching for the HTTP crate or the disclosure step is found.
#[test]
fn a_wrong_dependency_is_found() {
    let deps = dependencies(
        "[dependencies]\ningest.workspace = true\naxum = \"0.8\"\ndisclosure = { path = \"../disclosure\" }\n[dev-dependencies]\napi.workspace = true\n",
    );
    assert_eq!(deps, ["ingest", "axum", "disclosure"]);
    assert_eq!(violations(1, &deps).len(), 2);
}
