//! What the scheduled imports did: their runs, and the freshness of the datasets they feed.
//! The tables (`job_runs`, `job_files`) are this crate's, with its migrations.

use ingest::migrate::Migrations;

use crate::{Error, Result};

/// The migrations of the scheduled imports' tables.
pub const MIGRATIONS: Migrations = ingest::migrations!(
    "jobs",
    1 => "scheduled import runs", "0001_job_runs.sql";
    2 => "freshness of scheduled imports", "0002_job_freshness.sql";
);

/// Brings the scheduled imports' tables up to date (once per database; cheap after).
pub fn migrate(store: &ingest::Store) -> Result<()> {
    MIGRATIONS.apply(store.conn()).map_err(store_error)
}

fn store_error(e: impl std::fmt::Display) -> Error {
    Error::Run(e.to_string())
}

/// One run of a scheduled import (`job_runs`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JobRun {
    pub run_id: i64,
    pub job: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: String,
    pub batch_id: Option<i64>,
    pub rows_rejected: Option<i64>,
    pub message: Option<String>,
}

/// Whether a dataset fed by a scheduled import is current.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Freshness {
    pub dataset: String,
    pub job: String,
    /// When its source last brought new content (RFC 3339, UTC).
    pub last_change: Option<String>,
    pub last_outcome: String,
    /// The last run failed, or the source has not changed for longer than the job allows.
    pub stale: bool,
    pub reason: Option<String>,
}

/// The latest runs of the scheduled imports (of one job, or all), newest first.
pub fn runs(store: &ingest::Store, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>> {
    let read = || -> duckdb::Result<Vec<JobRun>> {
        let mut stmt = store.conn().prepare(&format!(
            "SELECT run_id, job, strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                    strftime(finished_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                    outcome, batch_id, rows_rejected, message
             FROM job_runs WHERE ?::VARCHAR IS NULL OR job = ? ORDER BY run_id DESC LIMIT {limit}"
        ))?;
        stmt.query_map([job, job], |r| {
            Ok(JobRun {
                run_id: r.get(0)?,
                job: r.get(1)?,
                started_at: r.get(2)?,
                finished_at: r.get(3)?,
                outcome: r.get(4)?,
                batch_id: r.get(5)?,
                rows_rejected: r.get(6)?,
                message: r.get(7)?,
            })
        })?
        .collect()
    };
    read().map_err(store_error)
}

/// The latest runs of a job, newest first.
pub fn history(store: &ingest::Store, job: &str, limit: usize) -> Result<Vec<JobRun>> {
    runs(store, Some(job), limit)
}

/// The freshness of every dataset a scheduled import feeds, from its latest runs.
pub fn freshness(store: &ingest::Store) -> Result<Vec<Freshness>> {
    let read = || -> duckdb::Result<Vec<Freshness>> {
        let mut stmt = store.conn().prepare(
            "WITH last AS (
                 SELECT job, arg_max(outcome, run_id) AS outcome, arg_max(dataset, run_id) AS dataset,
                        arg_max(stale_after_hours, run_id) AS hours, arg_max(message, run_id) AS message
                 FROM job_runs WHERE outcome NOT IN ('running', 'skipped') AND dataset IS NOT NULL
                 GROUP BY job),
             changed AS (
                 SELECT job, max(finished_at) AS at FROM job_runs
                 WHERE outcome IN ('loaded', 'loaded_with_rejections') GROUP BY job)
             SELECT l.dataset, l.job, strftime(c.at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), l.outcome,
                    l.outcome IN ('failed', 'interrupted', 'refused') AS failed,
                    l.hours IS NOT NULL AND (c.at IS NULL OR c.at < now() - to_hours(l.hours)) AS old,
                    l.hours, l.message
             FROM last l LEFT JOIN changed c USING (job) ORDER BY l.dataset, l.job",
        )?;
        stmt.query_map([], |r| {
            let (failed, old): (bool, bool) = (r.get(4)?, r.get(5)?);
            let outcome: String = r.get(3)?;
            let hours: Option<i64> = r.get(6)?;
            let message: Option<String> = r.get(7)?;
            let reason = if failed {
                Some(format!(
                    "the last run ended {outcome}{}",
                    message.map(|m| format!(": {m}")).unwrap_or_default()
                ))
            } else if old {
                Some(format!(
                    "the source has not changed for more than {} hours",
                    hours.unwrap_or(0)
                ))
            } else {
                None
            };
            Ok(Freshness {
                dataset: r.get(0)?,
                job: r.get(1)?,
                last_change: r.get(2)?,
                last_outcome: outcome,
                stale: failed || old,
                reason,
            })
        })?
        .collect()
    };
    read().map_err(store_error)
}
