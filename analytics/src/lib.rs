//! Haven analytics: indicators computed from the loaded datasets with Polars, and segregation
//! indices with PySAL's definitions, written back to DuckDB for the api to serve.

mod availability;
pub mod forecast;
pub mod frame;
pub mod pipeline;
pub mod registry;
pub mod scenario;
pub mod segregation;
mod segregation_run;

pub use availability::{AvailabilitySummary, run_availability};
pub use segregation_run::{
    Change, GroupIndices, IndexRow, PLACED, SegregationOptions, SegregationSummary, indices_for,
    run_segregation,
};

use duckdb::Connection;
use ingest::migrate::Migrations;
use serde::Serialize;

/// The migrations of the tables analyses write: indices, changes, location quotients (created
/// by each run with the groups the data holds), indicator values and the run ledger.
pub const MIGRATIONS: Migrations = ingest::migrations!(
    "analytics",
    1 => "indicator tables", "0001_indicators.sql";
    2 => "location quotients by period and district; analysis runs", "0002_analysis_runs.sql";
    3 => "indicator values stored once: published and restricted", "0003_indicators_restricted.sql";
);

/// Brings the analyses' tables up to date (once per database; cheap after).
pub fn migrate(conn: &Connection) -> Result<()> {
    MIGRATIONS
        .apply(conn)
        .map_err(|e| Error::Data(e.to_string()))
}

/// The one error type of the analytics crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] duckdb::Error),
    #[error("dataframe: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Data(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Headline figures for the whole municipality, from the current rows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overview {
    pub districts: i64,
    pub dwellings: i64,
    /// Units in properties still vacant or in the pipeline (not let, not withdrawn).
    pub vacant_units: i64,
    pub ready_units: i64,
    /// Ready now plus minor renovation (activatable within 90 days).
    pub activatable_90d_units: i64,
    /// Renovation cost of the minor-renovation units, in euro.
    pub cost_to_activate_90d_eur: f64,
    pub social_housing_units: i64,
    pub active_incentives: i64,
}

/// What `analyze` computed, or found already computed from the same inputs.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AnalyzeReport {
    pub availability: AvailabilitySummary,
    pub segregation: SegregationSummary,
    /// The activation pipeline, derived on every run (the officers' workspace changes it too).
    #[serde(default)]
    pub pipeline: pipeline::PipelineSummary,
    /// The parts computed in this run; the others were up to date.
    pub computed: Vec<String>,
    pub elapsed_ms: u64,
}

/// Choices of an analyze run.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    pub segregation: SegregationOptions,
    /// Recompute every part even if its inputs did not change.
    pub full: bool,
}

/// Progress of an analyze run, reported from both workers.
pub trait Progress: Sync {
    /// The run will take `steps` steps.
    fn start(&self, _steps: u64) {}
    /// One step finished.
    fn step(&self, _what: &str) {}
}

/// No progress reporting.
pub struct NoProgress;

impl Progress for NoProgress {}

/// Steps each part reports.
pub(crate) const AVAILABILITY_STEPS: u64 = 5;
pub(crate) const SEGREGATION_STEPS: u64 = 5;

/// The datasets each part reads.
const AVAILABILITY_INPUTS: &[&str] = &[
    "districts",
    "population",
    "vacant_properties",
    "social_housing",
    "social_housing_waiting_list",
    "landlord_incentives",
    "reception_sites",
    "placements",
];
const SEGREGATION_INPUTS: &[&str] = &["districts", "population", "placements"];

/// Recomputes every indicator table from the loaded datasets.
pub fn analyze(conn: &Connection, opts: &SegregationOptions) -> Result<AnalyzeReport> {
    analyze_with(
        conn,
        &AnalyzeOptions {
            segregation: opts.clone(),
            full: true,
        },
        &NoProgress,
    )
}

/// Brings the indicator tables up to date: a part (availability, segregation) whose inputs and
/// options are those of its last run is kept; the others are recomputed side by side.
pub fn analyze_with(
    conn: &Connection,
    opts: &AnalyzeOptions,
    progress: &dyn Progress,
) -> Result<AnalyzeReport> {
    let started = std::time::Instant::now();
    migrate(conn)?;
    let has_districts: i64 = conn.query_row("SELECT count(*) FROM districts", [], |r| r.get(0))?;
    if has_districts == 0 {
        return Err(Error::Data(
            "no districts are loaded; load them first: haven ingest districts <file>".into(),
        ));
    }
    let s = &opts.segregation;
    let seg_options = format!(
        "permutations={} seed={} partition={}",
        s.permutations,
        s.seed,
        s.partition
            .as_ref()
            .map_or("from the data".to_string(), |p| p.join(","))
    );
    let avail_print = fingerprint(conn, AVAILABILITY_INPUTS, "")?;
    let seg_print = fingerprint(conn, SEGREGATION_INPUTS, &seg_options)?;
    let avail_done = if opts.full {
        None
    } else {
        last_run::<AvailabilitySummary>(conn, "availability", &avail_print, "indicators_monthly")?
    };
    let seg_done = if opts.full {
        None
    } else {
        last_run::<SegregationSummary>(conn, "segregation", &seg_print, "location_quotients")?
    };
    progress.start(
        u64::from(avail_done.is_none()) * AVAILABILITY_STEPS
            + u64::from(seg_done.is_none()) * SEGREGATION_STEPS,
    );
    // Independent work on two connections: availability and segregation run side by side, each
    // on a thread of its own (so Polars never runs on an async runtime's thread).
    let clone = |c: &Connection| {
        ingest::encryption::clone_connection(c).map_err(|e| Error::Data(e.to_string()))
    };
    let (mine, other) = (clone(conn)?, clone(conn)?);
    let (availability, segregation) = std::thread::scope(|scope| {
        let seg = scope.spawn(move || match seg_done {
            Some(done) => Ok((done, false)),
            None => {
                let t = std::time::Instant::now();
                let r = run_segregation(&other, s, progress)?;
                record(&other, "segregation", &seg_print, &r, t)?;
                Ok((r, true))
            }
        });
        let avail = scope.spawn(move || {
            let done = match avail_done {
                Some(done) => (done, false),
                None => {
                    let t = std::time::Instant::now();
                    let r = run_availability(&mine, progress)?;
                    record(&mine, "availability", &avail_print, &r, t)?;
                    (r, true)
                }
            };
            Ok((done, pipeline::run_pipeline(&mine)?))
        });
        let failed = |part: &str| Error::Data(format!("the {part} run failed"));
        let availability = avail.join().unwrap_or_else(|_| Err(failed("availability")));
        let segregation = seg.join().unwrap_or_else(|_| Err(failed("segregation")));
        (availability, segregation)
    });
    let (((availability, a_new), pipeline), (segregation, s_new)) = (availability?, segregation?);
    let computed = [("availability", a_new), ("segregation", s_new)]
        .into_iter()
        .filter(|(_, new)| *new)
        .map(|(part, _)| part.to_string())
        .collect();
    Ok(AnalyzeReport {
        availability,
        segregation,
        pipeline,
        computed,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// What a part's results depend on: each input's row count and batch ids, the options and the
/// version of this crate.
fn fingerprint(conn: &Connection, inputs: &[&str], options: &str) -> Result<String> {
    let parts: Vec<String> = inputs
        .iter()
        .map(|t| {
            format!(
                "SELECT '{t}:' || count(*) || ':' || coalesce(max(_batch_id), 0) || ':' || coalesce(sum(_batch_id), 0) FROM {t}"
            )
        })
        .collect();
    let sql = format!(
        "SELECT string_agg(x, ' ') FROM ({}) t(x)",
        parts.join(" UNION ALL ")
    );
    let data: String = conn.query_row(&sql, [], |r| r.get(0))?;
    Ok(format!(
        "{data} | {options} | analytics {}",
        env!("CARGO_PKG_VERSION")
    ))
}

/// The summary of a part's last run if it was computed from the same fingerprint and its
/// result table is still there.
fn last_run<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    part: &str,
    fingerprint: &str,
    result: &str,
) -> Result<Option<T>> {
    if !ingest::store::has_table(conn, result).map_err(|e| Error::Data(e.to_string()))? {
        return Ok(None);
    }
    let mut stmt =
        conn.prepare("SELECT summary FROM analysis_runs WHERE part = ? AND fingerprint = ?")?;
    let mut rows = stmt.query(duckdb::params![part, fingerprint])?;
    Ok(match rows.next()? {
        Some(row) => serde_json::from_str(&row.get::<_, String>(0)?).ok(),
        None => None,
    })
}

fn record<T: Serialize>(
    conn: &Connection,
    part: &str,
    fingerprint: &str,
    summary: &T,
    started: std::time::Instant,
) -> Result<()> {
    // The fingerprint is taken before the run, so a load during it leads to another run.
    let summary = serde_json::to_string(summary).map_err(|e| Error::Data(e.to_string()))?;
    conn.execute(
        "INSERT OR REPLACE INTO analysis_runs VALUES (?, ?, ?, now(), ?)",
        duckdb::params![
            part,
            fingerprint,
            summary,
            started.elapsed().as_millis() as i64
        ],
    )?;
    Ok(())
}

/// District index `d` (0-based, in code order) as a CTE `di` to join to a dataset.
pub(crate) const DISTRICT_INDEX: &str = "WITH di AS (SELECT district_code, (row_number() OVER (ORDER BY district_code) - 1)::BIGINT AS d FROM districts)";

/// Runs `f` in one transaction: committed if it succeeds, rolled back otherwise.
pub(crate) fn in_transaction(
    conn: &Connection,
    setup: &str,
    f: impl FnOnce() -> Result<()>,
) -> Result<()> {
    conn.execute_batch(&format!("BEGIN TRANSACTION; {setup}"))?;
    match f() {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

const OVERVIEW_SQL: &str = include_str!("overview.sql");

/// Computes the overview. Placement counts are personal data and are left to the
/// suppression step of the publishing layer, so they are not part of this public summary.
pub fn overview(conn: &Connection) -> Result<Overview> {
    Ok(conn.query_row(OVERVIEW_SQL, [], |r| {
        Ok(Overview {
            districts: r.get(0)?,
            dwellings: r.get(1)?,
            vacant_units: r.get(2)?,
            ready_units: r.get(3)?,
            activatable_90d_units: r.get(4)?,
            cost_to_activate_90d_eur: r.get(5)?,
            social_housing_units: r.get(6)?,
            active_incentives: r.get(7)?,
        })
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made table: 3 properties, worked out by hand below.
    #[test]
    fn overview_by_hand() {
        let store = ingest::Store::open_in_memory().unwrap();
        let c = store.conn();
        c.execute_batch(
            "INSERT INTO districts VALUES ('BE1', 'A', NULL, '{}', 100, NULL, 1), ('BE2', 'B', NULL, '{}', 50, NULL, 1);
             INSERT INTO vacant_properties (property_id, district_code, owner_type, property_type, units, vacant_since, condition, renovation_cost_eur, status, _batch_id) VALUES
               ('p1', 'BE1', 'private', 'house', 1, '2024-01-01', 'ready', 0, 'vacant', 1),
               ('p2', 'BE1', 'municipal', 'building', 4, '2024-01-01', 'minor_renovation', 20000, 'owner_contacted', 1),
               ('p3', 'BE2', 'private', 'house', 1, '2024-01-01', 'ready', 500, 'let', 1);",
        )
        .unwrap();
        let o = overview(c).unwrap();
        // p3 is let, so 1 + 4 units remain; ready 1; activatable 1 + 4; cost of p2 only.
        assert_eq!((o.districts, o.dwellings), (2, 150));
        assert_eq!(
            (o.vacant_units, o.ready_units, o.activatable_90d_units),
            (5, 1, 5)
        );
        assert_eq!(o.cost_to_activate_90d_eur, 20000.0);
    }
}
