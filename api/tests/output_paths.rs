//! Every way out of the server for figures built on placements goes through the disclosure
//! step: the public code reads the tables that step writes (`indicators_published`,
//! `placements_years`, `segregation_published`, `location_quotients_published`,
//! `segregation_changes_published`), never the register or the unprotected results. This test
//! lists every place in the api, haven-core (releases) and dashboard sources that names an unprotected table and
//! fails on any that is not in the list below, with its reason.

use std::path::Path;

/// Tables holding placements or figures built on them before the disclosure step.
const UNPROTECTED: &[&str] = &[
    "placements",
    "indicators_monthly",
    "segregation_indices",
    "location_quotients",
    "segregation_changes",
    "disclosure_cells",
    "disclosure_slack",
    "disclosure_records",
];

/// How a line names a table: in SQL (after FROM or JOIN), or as a quoted name that code may
/// hand to SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Sql,
    Name,
}

/// (file, table, how, why it may name it). No place may read an unprotected table in SQL.
const ALLOWED: &[(&str, &str, How, &str)] = &[
    (
        "haven-core/src/read/indicators.rs",
        "indicators_monthly",
        How::Name,
        "the indicator query as computed, asked for only by the officer route behind the guard (Access::Officer)",
    ),
    (
        "haven-core/src/publish.rs",
        "indicators_monthly",
        How::Name,
        "the check that an analysis exists before the disclosure step runs",
    ),
    (
        "haven-core/src/publish.rs",
        "placements",
        How::Name,
        "the id of the aggregated release file and the source datasets its metadata names",
    ),
    (
        "haven-core/src/provenance.rs",
        "placements",
        How::Name,
        "the source datasets the provenance of the derived figures names (never read)",
    ),
    (
        "haven-core/src/region.rs",
        "indicators_monthly",
        How::Name,
        "the true figures go to the lake's restricted catalogue only, which public readers cannot attach (tests/lake.rs)",
    ),
    (
        "haven-core/src/report.rs",
        "placements",
        How::Name,
        "the source datasets the council report names under the segregation figures",
    ),
    (
        "dashboard/web/src/pages/overview.js",
        "placements",
        How::Name,
        "the source dataset's label under a headline figure",
    ),
];

fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_ascii_alphanumeric() || c == '_';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// Whether a line reads the table: named after FROM or JOIN, or quoted (a name that may be
/// given to SQL or to `has_table`). A word in prose or a function's name does not count.
fn reads(line: &str, table: &str) -> Option<How> {
    let sql = [format!("FROM {table}"), format!("JOIN {table}")];
    let quoted = [format!("'{table}'"), format!("\"{table}\"")];
    if sql.iter().any(|p| line.contains(p.as_str())) {
        Some(How::Sql)
    } else if quoted.iter().any(|p| line.contains(p.as_str())) {
        Some(How::Name)
    } else {
        None
    }
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if !p.ends_with("node_modules") {
                sources(&p, out);
            }
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("rs" | "js" | "mjs" | "sql")
        ) {
            out.push(p);
        }
    }
}

#[test]
fn only_the_listed_places_name_an_unprotected_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    sources(&root.join("api/src"), &mut files);
    sources(&root.join("haven-core/src"), &mut files);
    sources(&root.join("dashboard/web/src"), &mut files);
    sources(&root.join("dashboard/src"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (n, line) in text.lines().enumerate() {
            // A crate's unit tests are not an output path.
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            for (_, w) in words(line) {
                if UNPROTECTED.contains(&w)
                    && let Some(how) = reads(line, w)
                {
                    found.push((rel.clone(), w.to_string(), how, n + 1));
                }
            }
        }
    }
    let unexpected: Vec<_> = found
        .iter()
        .filter(|(file, table, how, _)| {
            !ALLOWED
                .iter()
                .any(|(f, t, h, _)| f == file && t == table && h == how)
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "a public path names an unprotected table; read the published tables of the disclosure step instead, or list the place with its reason: {unexpected:#?}"
    );
    // Every allowance is still used: the list stays true.
    for (file, table, how, why) in ALLOWED {
        assert!(
            found
                .iter()
                .any(|(f, t, h, _)| f == file && t == table && h == how),
            "{file} no longer names {table} ({why}): remove the allowance"
        );
    }
}

/// The test can fail: a handler reading the register directly is found.
#[test]
fn a_read_of_the_register_is_found() {
    let line = "let n = conn.query_row(\"SELECT count(*) FROM placements\", [], |r| r.get(0));";
    assert!(
        words(line)
            .iter()
            .any(|(_, w)| UNPROTECTED.contains(w) && reads(line, w) == Some(How::Sql))
    );
    // An allowance for the dataset's name does not cover a read in SQL.
    assert!(
        !ALLOWED
            .iter()
            .any(|(f, t, h, _)| *f == "api/src/publish.rs" && *t == "placements" && *h == How::Sql)
    );
    // Prose and function names are not reads.
    assert_eq!(
        reads("pub async fn location_quotients(", "location_quotients"),
        None
    );
}
