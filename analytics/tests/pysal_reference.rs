//! Every segregation index against PySAL (`segregation` 2.5.4, `esda` 2.9.0) on the reference
//! datasets (tests/reference, a copy of ../shared/reference), to a relative 1e-9. Expected
//! values are read from the reference files, never from Haven's own output.

use std::collections::HashMap;
use std::path::PathBuf;

use analytics::segregation::{self as seg, Contiguity};
use serde_json::Value;

fn reference_dir() -> PathBuf {
    let dir = std::env::var_os("HAVEN_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference"));
    assert!(
        dir.join("expected.json").exists(),
        "the PySAL reference values are missing at {} (set HAVEN_REFERENCE_DIR)",
        dir.display()
    );
    dir
}

/// The copy in tests/reference is the shared reference, byte for byte, wherever that exists.
#[test]
fn the_reference_copy_matches_the_shared_reference() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference");
    if !shared.join("expected.json").exists() {
        return; // a clone without the shared folder beside it: nothing to compare with
    }
    for name in [
        "expected.json",
        "synthetic_500.csv",
        "synthetic_500.geojson",
        "reference_local_synthetic_500.csv",
        "toy4.csv",
        "toy4.geojson",
    ] {
        let ours = std::fs::read(reference_dir().join(name)).unwrap();
        let theirs = std::fs::read(shared.join(name)).unwrap();
        assert!(
            ours == theirs,
            "tests/reference/{name} differs from ../shared/reference/{name}: copy it again"
        );
    }
}

struct Dataset {
    columns: HashMap<String, Vec<f64>>,
    districts: Vec<String>,
    expected: Value,
    rings: Vec<Vec<Vec<(f64, f64)>>>,
}

impl Dataset {
    fn load(name: &str) -> Dataset {
        let dir = reference_dir();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let mut reader = csv::Reader::from_path(dir.join(format!("{name}.csv"))).unwrap();
        let headers = reader.headers().unwrap().clone();
        let mut columns: HashMap<String, Vec<f64>> = HashMap::new();
        let mut districts = Vec::new();
        for rec in reader.records() {
            let rec = rec.unwrap();
            districts.push(rec[0].to_string());
            for (h, v) in headers.iter().zip(rec.iter()).skip(1) {
                if let Ok(n) = v.parse::<f64>() {
                    columns.entry(h.to_string()).or_default().push(n);
                }
            }
        }
        let gj: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.geojson"))).unwrap(),
        )
        .unwrap();
        let mut by_name: HashMap<String, Vec<Vec<(f64, f64)>>> = HashMap::new();
        for f in gj["features"].as_array().unwrap() {
            let polys: Vec<&Value> = match f["geometry"]["type"].as_str().unwrap() {
                "Polygon" => vec![&f["geometry"]["coordinates"]],
                _ => f["geometry"]["coordinates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .collect(),
            };
            let rings = polys
                .iter()
                .flat_map(|p| p.as_array().unwrap().iter())
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
                        .collect()
                })
                .collect();
            by_name.insert(
                f["properties"]["district"].as_str().unwrap().to_string(),
                rings,
            );
        }
        let rings = districts
            .iter()
            .map(|d| by_name.remove(d).expect("every district has a geometry"))
            .collect();
        Dataset {
            columns,
            districts,
            expected: expected["datasets"][name].clone(),
            rings,
        }
    }

    fn col(&self, name: &str) -> &[f64] {
        &self.columns[name]
    }

    fn value(&self, section: &str, index: &str) -> f64 {
        self.expected[section][index]["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{section}.{index} in expected.json"))
    }

    fn groups(&self) -> Vec<&[f64]> {
        self.expected["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| self.col(g.as_str().unwrap()))
            .collect()
    }

    fn focus(&self) -> (&[f64], &[f64]) {
        (
            self.col(self.expected["group_of_interest"].as_str().unwrap()),
            self.col(self.expected["total_var"].as_str().unwrap()),
        )
    }
}

/// Relative 1e-9; where PySAL's value is zero up to rounding (|v| < 1e-12), absolute 1e-12.
fn close(name: &str, ours: f64, pysal: f64) {
    if pysal.abs() < 1e-12 {
        assert!(
            ours.abs() < 1e-12,
            "{name}: Haven {ours:e} vs PySAL {pysal:e}"
        );
        return;
    }
    let rel = ((ours - pysal) / pysal).abs();
    assert!(
        rel <= 1e-9,
        "{name}: Haven {ours:.17} vs PySAL {pysal:.17} (relative {rel:e})"
    );
}

fn check_all(name: &str) {
    let d = Dataset::load(name);
    let (x, t) = d.focus();
    close(
        "Dissim",
        seg::dissimilarity(x, t),
        d.value("single", "Dissim"),
    );
    close("Gini", seg::gini(x, t), d.value("single", "Gini"));
    close("Entropy", seg::entropy(x, t), d.value("single", "Entropy"));
    close(
        "Isolation",
        seg::isolation(x, t),
        d.value("single", "Isolation"),
    );
    close(
        "Interaction",
        seg::exposure(x, t),
        d.value("single", "Interaction"),
    );
    close(
        "Atkinson",
        seg::atkinson(x, t, 0.5),
        d.value("single", "Atkinson"),
    );
    let groups = d.groups();
    close(
        "MultiDissim",
        seg::multi_dissimilarity(&groups),
        d.value("multi", "MultiDissim"),
    );
    close(
        "MultiGini",
        seg::multi_gini(&groups),
        d.value("multi", "MultiGini"),
    );
    close(
        "MultiInfoTheory",
        seg::multi_information_theory(&groups),
        d.value("multi", "MultiInfoTheory"),
    );

    let w = Contiguity::queen(&d.rings);
    assert_eq!(
        w.links() as f64,
        d.expected["queen"]["s0_binary"].as_f64().unwrap(),
        "queen links"
    );
    close(
        "SpatialDissim",
        seg::spatial_dissimilarity(x, t, &w),
        d.value("spatial", "SpatialDissim"),
    );
    for (key, m) in d.expected["moran"].as_object().unwrap() {
        if !m["call"].as_str().unwrap().contains("Queen") {
            continue;
        }
        let ratio =
            |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a / b).collect::<Vec<f64>>();
        let y: Vec<f64> = match key.as_str() {
            "vacancy_rate" => ratio(d.col("vacant"), d.col("dwellings")),
            "median_rent" => d.col("median_rent").to_vec(),
            share => ratio(
                d.col(&format!(
                    "grp_{}",
                    share.strip_prefix("share_").expect("share_<group>")
                )),
                t,
            ),
        };
        let ours = seg::morans_i(&y, &w);
        close(&format!("Moran I {key}"), ours.i, m["I"].as_f64().unwrap());
        close(
            &format!("Moran EI {key}"),
            ours.expected,
            m["EI"].as_f64().unwrap(),
        );
        if let Some(v) = m["VI_norm"].as_f64() {
            close(&format!("Moran VI_norm {key}"), ours.variance_normal, v);
            // With no variance (toy4: every district touches every other) z is noise.
            if v > 1e-12 {
                close(
                    &format!("Moran z_norm {key}"),
                    ours.z_normal,
                    m["z_norm"].as_f64().unwrap(),
                );
            }
        }
    }
    // Location quotients: the first five districts of every group from expected.json.
    let first5 = d.expected["local"]["MultiLocationQuotient"]["first5"]
        .as_array()
        .unwrap();
    let (_, big_t) = (0, groups.iter().map(|g| g.iter().sum::<f64>()).sum::<f64>());
    let totals: Vec<f64> = (0..d.districts.len())
        .map(|i| groups.iter().map(|g| g[i]).sum())
        .collect();
    assert!(big_t > 0.0);
    for (k, g) in groups.iter().enumerate() {
        let lq = seg::location_quotients(g, &totals);
        for (i, row) in first5.iter().enumerate() {
            close(
                &format!("LQ[{i}][{k}]"),
                lq[i].unwrap(),
                row[k].as_f64().unwrap(),
            );
        }
    }
}

#[test]
fn toy4_matches_pysal() {
    let d = Dataset::load("toy4");
    // The hand-worked figure of the reference README: D = 52/75.
    let (x, t) = d.focus();
    close("D by hand", seg::dissimilarity(x, t), 52.0 / 75.0);
    check_all("toy4");
}

#[test]
fn synthetic_500_matches_pysal() {
    check_all("synthetic_500");
}

#[test]
fn synthetic_500_location_quotients_of_every_district() {
    let d = Dataset::load("synthetic_500");
    let mut reader =
        csv::Reader::from_path(reference_dir().join("reference_local_synthetic_500.csv")).unwrap();
    let groups = d.groups();
    let totals: Vec<f64> = (0..d.districts.len())
        .map(|i| groups.iter().map(|g| g[i]).sum())
        .collect();
    let lqs: Vec<Vec<Option<f64>>> = groups
        .iter()
        .map(|g| seg::location_quotients(g, &totals))
        .collect();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.unwrap();
        assert_eq!(&rec[0], d.districts[i].as_str());
        for k in 0..3 {
            close(
                &format!("LQ {} group {k}", &rec[0]),
                lqs[k][i].unwrap(),
                rec[k + 1].parse().unwrap(),
            );
        }
    }
}

#[test]
fn permutation_tests_separate_segregation_from_chance() {
    let d = Dataset::load("synthetic_500");
    let (x, t) = d.focus();
    let w = Contiguity::queen(&d.rings);
    let y: Vec<f64> = x.iter().zip(t).map(|(a, b)| a / b).collect();
    // Strong spatial structure (z ≈ 25): no permutation comes close.
    assert_eq!(seg::morans_i_p_value(&y, &w, 999, 7), 0.001);
    assert_eq!(seg::dissimilarity_p_value(x, t, 999, 7), 0.001);
    // Counts spread exactly in proportion: D is 0 and chance does at least as well every time.
    let even: Vec<f64> = t.iter().map(|ti| ti * 0.1).collect();
    assert!(seg::dissimilarity_p_value(&even, t, 199, 7) > 0.9);
}
