//! The invariants of ARCHITECTURE.md, checked on the manifests and the sources (a tidy test):
//! each crate depends only on crates before it (ingest → analytics → disclosure → haven-core →
//! jobs → dashboard → api → the binary; so `jobs` never reaches `api`), only `api` (and the
//! binary above it) knows HTTP, only the binary uses anyhow, no library reads the environment,
//! the application layers return typed errors (no `Result<_, String>`), every analysis and
//! release goes through the core's pipeline, and every crate has its section on the page. The
//! route table and the OpenAPI document are checked against each other by the api's tests.

use std::path::Path;

/// The workspace crates in their layer order.
const LAYERS: &[&str] = &[
    "ingest",
    "analytics",
    "disclosure",
    "report",
    "lake",
    "haven-core",
    "jobs",
    "dashboard",
    "api",
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
        if name != "api" && HTTP.contains(&d.as_str()) {
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

/// The `.rs` files under `dir` (recursively), with their text.
fn rust_files(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// The lines of `files` (up to a file's unit tests) that contain any of `needles`.
fn lines_with(files: &[(String, String)], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            let code = line.split("//").next().unwrap_or_default();
            // The needle as a whole path: `cli_publish::publish(` is not `publish::publish(`.
            let whole = |x: &&str| {
                let ident = x.starts_with(|c: char| c.is_alphanumeric() || c == '_');
                code.match_indices(*x).any(|(i, _)| {
                    !ident
                        || !code[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
            };
            if needles.iter().any(whole) {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

fn sources(dirs: &[&str]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&root().join(d), &mut files);
    }
    files
}

/// Libraries are handed their settings (`haven_core::Settings`): only the binary reads the
/// environment.
#[test]
fn no_library_reads_the_environment() {
    let libs: Vec<String> = LAYERS.iter().map(|c| format!("{c}/src")).collect();
    let libs: Vec<&str> = libs.iter().map(String::as_str).collect();
    let found = lines_with(
        &sources(&libs),
        &["env::var(", "env::var_os(", "env::vars("],
    );
    assert!(found.is_empty(), "{found:#?}");
}

/// The application layers say what went wrong with their error types.
#[test]
fn application_layers_return_typed_errors() {
    let files = sources(&["haven-core/src", "jobs/src", "api/src", "src"]);
    let found: Vec<String> = lines_with(&files, &[", String>"])
        .into_iter()
        .filter(|l| l.contains("Result<"))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

/// Analyses and releases are made by the core's pipeline (one policy for the upload route, the
/// jobs, the command line and the demo); the benchmarks measure the steps themselves.
#[test]
fn analyses_and_releases_go_through_the_pipeline() {
    let files: Vec<(String, String)> = sources(&["api/src", "jobs/src", "src"])
        .into_iter()
        .filter(|(p, _)| p != "src/bench.rs")
        .collect();
    let found = lines_with(
        &files,
        &[
            "analyze_with(",
            "analytics::analyze(",
            "publish::publish(",
            "ingest::ingest(",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

/// A connection is cloned only through `ingest::encryption::clone_connection`, which keeps the
/// clone on the attached (encrypted) database; `Store::try_clone` and `Store::reader` use it.
#[test]
fn connections_are_cloned_onto_the_same_catalogue() {
    let libs: Vec<String> = LAYERS.iter().map(|c| format!("{c}/src")).collect();
    let libs: Vec<&str> = libs.iter().map(String::as_str).collect();
    let files: Vec<(String, String)> = sources(&libs)
        .into_iter()
        .chain(sources(&["src"]))
        .filter(|(p, _)| p != "ingest/src/encryption.rs")
        .collect();
    let found = lines_with(&files, &["conn.try_clone(", "conn().try_clone("]);
    assert!(found.is_empty(), "{found:#?}");
}

/// The checks can fail: a line of each kind is found.
#[test]
fn the_source_checks_find_what_they_look_for() {
    let files = vec![(
        "x.rs".to_string(),
        "fn f() -> Result<u8, String> {\n    std::env::var(\"X\");\n    analytics::analyze_with(c, o, p)\n}\n// std::env::var in a comment\n#[cfg(test)]\nstd::env::var(\"Y\")".to_string(),
    )];
    assert_eq!(lines_with(&files, &[", String>"]).len(), 1);
    assert_eq!(lines_with(&files, &["env::var("]).len(), 1);
    assert_eq!(lines_with(&files, &["analyze_with("]).len(), 1);
    let cloned = vec![(
        "z.rs".to_string(),
        "let c = self.conn.try_clone()?;".to_string(),
    )];
    assert_eq!(lines_with(&cloned, &["conn.try_clone("]).len(), 1);
    let named = vec![("y.rs".to_string(), "cli_publish::publish(s)".to_string())];
    assert!(lines_with(&named, &["publish::publish("]).is_empty());
}

/// Tables created by each crate's `migrations/*.sql`, with the crate that owns them.
fn owned_tables() -> Vec<(String, String)> {
    let mut owned = Vec::new();
    for krate in LAYERS {
        let Ok(entries) = std::fs::read_dir(root().join(krate).join("migrations")) else {
            continue;
        };
        for e in entries {
            let sql = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for table in tables_created(&sql) {
                owned.push((table, krate.to_string()));
            }
        }
    }
    owned
}

fn tables_created(sql: &str) -> Vec<String> {
    sql.split("CREATE TABLE IF NOT EXISTS ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// The lines of crates other than `owner` that write `table`.
fn foreign_writes(files: &[(String, String)], table: &str, owner: &str) -> Vec<String> {
    let needles: Vec<String> = [
        "INSERT INTO",
        "UPDATE",
        "DELETE FROM",
        "DROP TABLE",
        "ALTER TABLE",
    ]
    .iter()
    .flat_map(|verb| [format!("{verb} {table} "), format!("{verb} {table}(")])
    .collect();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    lines_with(files, &needles)
        .into_iter()
        .filter(|l| !l.starts_with(&format!("{owner}/")))
        .collect()
}

/// A table belongs to the crate that writes it, with that crate's migrations: no other crate
/// (the binary included) writes it.
#[test]
fn tables_are_written_only_by_the_crate_that_owns_them() {
    let owned = owned_tables();
    for table in [
        "ingest_batches",
        "segregation_indices",
        "releases",
        "users",
        "job_runs",
        "audit_log",
    ] {
        assert!(
            owned.iter().any(|(t, _)| t == table),
            "{table} has no migration: {owned:?}"
        );
    }
    let mut dirs: Vec<String> = LAYERS.iter().map(|c| format!("{c}/src")).collect();
    dirs.push("src".into());
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let files = sources(&dirs);
    let found: Vec<String> = owned
        .iter()
        .flat_map(|(t, owner)| foreign_writes(&files, t, owner))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_foreign_write_is_found() {
    assert_eq!(
        tables_created(
            "CREATE TABLE IF NOT EXISTS job_runs (\n x INT);\nCREATE TABLE IF NOT EXISTS job_files(x INT);"
        ),
        ["job_runs", "job_files"]
    );
    let files = vec![
        (
            "api/src/x.rs".to_string(),
            "c.execute(\"INSERT INTO job_runs (run_id) VALUES (1)\")".to_string(),
        ),
        (
            "jobs/src/y.rs".to_string(),
            "c.execute(\"UPDATE job_runs SET x = 1\")".to_string(),
        ),
        (
            "api/src/z.rs".to_string(),
            "c.execute(\"INSERT INTO job_runs_old VALUES (1)\")".to_string(),
        ),
    ];
    assert_eq!(foreign_writes(&files, "job_runs", "jobs").len(), 1);
}

/// Handlers hold no SQL: reads live beside the core (`haven_core::read`, the stores of
/// `ingest` and `jobs`), and the HTTP layer's one table, the audit log, in its own module.
#[test]
fn handlers_hold_no_sql() {
    let files: Vec<(String, String)> = sources(&["api/src"])
        .into_iter()
        .filter(|(p, _)| p != "api/src/audit.rs")
        .collect();
    let found = lines_with(&files, SQL);
    assert!(found.is_empty(), "{found:#?}");
}

const SQL: &[&str] = &[
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    ".prepare(",
    ".query_row(",
    ".execute(",
    ".execute_batch(",
];

#[test]
fn sql_in_a_handler_is_found() {
    let files = vec![(
        "api/src/x.rs".to_string(),
        "let n = conn.query_row(\"SELECT count(*) FROM districts\", [], |r| r.get(0))?;"
            .to_string(),
    )];
    assert_eq!(lines_with(&files, SQL).len(), 1);
}
