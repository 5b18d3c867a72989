//! Haven analytics: indicators computed from the loaded datasets with Polars, and segregation
//! indices with PySAL's definitions, written back to DuckDB for the api to serve.

mod availability;
pub mod frame;
pub mod privacy;
pub mod registry;
pub mod scenario;
pub mod segregation;
mod segregation_run;

pub use availability::{AvailabilitySummary, run_availability};
pub use segregation_run::{SegregationOptions, SegregationSummary, run_segregation};

use duckdb::Connection;
use serde::Serialize;

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

/// What `analyze` computed.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeReport {
    pub availability: AvailabilitySummary,
    pub segregation: SegregationSummary,
    pub elapsed_ms: u64,
}

/// Recomputes every indicator table from the loaded datasets.
pub fn analyze(conn: &Connection, opts: &SegregationOptions) -> Result<AnalyzeReport> {
    let started = std::time::Instant::now();
    let has_districts: i64 = conn.query_row("SELECT count(*) FROM districts", [], |r| r.get(0))?;
    if has_districts == 0 {
        return Err(Error::Data(
            "no districts are loaded; load them first: haven ingest districts <file>".into(),
        ));
    }
    // Independent work on two connections: availability and segregation run side by side.
    let other = conn.try_clone()?;
    let (availability, segregation) = std::thread::scope(|s| {
        let seg = s.spawn(move || run_segregation(&other, opts));
        let availability = run_availability(conn);
        let segregation = seg
            .join()
            .unwrap_or_else(|_| Err(Error::Data("the segregation run failed".into())));
        (availability, segregation)
    });
    let (availability, segregation) = (availability?, segregation?);
    Ok(AnalyzeReport {
        availability,
        segregation,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

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
