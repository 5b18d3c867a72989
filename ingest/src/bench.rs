//! The ingest benchmark: Haven's full load (validation, reprojection check, point-in-polygon,
//! upsert) against DuckDB's own `read_csv` of the same file, in the same process and run.

use std::path::Path;
use std::time::Instant;

use duckdb::Connection;

use crate::demo::{DemoSpec, generate};
use crate::error::{Error, Result};
use crate::{IngestOptions, Input, NoProgress, Outcome, Store, ingest};

/// Figures of one benchmark run, in seconds (medians over the runs).
#[derive(Debug, Clone)]
pub struct IngestBench {
    pub rows: u64,
    pub districts: usize,
    pub file_mb: f64,
    pub haven_s: Vec<f64>,
    pub duckdb_s: Vec<f64>,
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Generates (once) the scaled demo in `dir` and times `runs` loads of its vacant properties.
pub fn ingest_vs_duckdb(
    dir: &Path,
    vacant: usize,
    runs: usize,
    log: &dyn Fn(&str),
) -> Result<IngestBench> {
    let spec = DemoSpec::scaled(42, vacant);
    let csv = dir.join("vacant_properties.csv");
    let districts = dir.join("districts.geojson");
    if !csv.exists() || !districts.exists() {
        log(&format!(
            "generating {vacant} vacant properties and {} districts in {}",
            spec.districts,
            dir.display()
        ));
        generate(&spec, dir)?;
    }
    let file_mb = std::fs::metadata(&csv)
        .map_err(|e| Error::io(&csv, e))?
        .len() as f64
        / 1e6;
    let scratch = dir.join("bench.duckdb");
    let mut bench = IngestBench {
        rows: 0,
        districts: spec.districts,
        file_mb,
        haven_s: Vec::new(),
        duckdb_s: Vec::new(),
    };
    for run in 1..=runs {
        remove_db(&scratch);
        let store = Store::open(&scratch)?;
        let opts = IngestOptions {
            origin: "bench".into(),
            ..IngestOptions::default()
        };
        ingest(
            &store,
            "districts",
            &Input::from_path(&districts)?,
            &opts,
            &NoProgress,
        )?;
        let input = Input::from_path(&csv)?;
        let t = Instant::now();
        let report = ingest(&store, "vacant_properties", &input, &opts, &NoProgress)?;
        let haven = t.elapsed().as_secs_f64();
        if report.outcome != Outcome::Loaded {
            return Err(Error::Invalid(format!(
                "benchmark load did not load cleanly: {:?}",
                report.message
            )));
        }
        bench.rows = report.rows_accepted;
        drop(store);

        remove_db(&scratch);
        let conn = Connection::open(&scratch)?;
        let literal = csv.display().to_string().replace('\'', "''");
        let t = Instant::now();
        conn.execute_batch(&format!(
            "CREATE TABLE v AS SELECT * FROM read_csv('{literal}')"
        ))?;
        let duck = t.elapsed().as_secs_f64();
        drop(conn);
        log(&format!(
            "run {run}/{runs}: haven {haven:.2} s, duckdb read_csv {duck:.2} s"
        ));
        bench.haven_s.push(haven);
        bench.duckdb_s.push(duck);
    }
    remove_db(&scratch);
    Ok(bench)
}

fn remove_db(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut wal = path.as_os_str().to_os_string();
    wal.push(".wal");
    let _ = std::fs::remove_file(wal);
}
