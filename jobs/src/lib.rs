//! Scheduled imports: the jobs of `haven.toml`.

pub mod config;
pub mod history;
pub mod http;
pub mod run;
pub mod schedule;

use std::path::PathBuf;

pub use config::{Config, Job};
pub use history::{Freshness, JobRun, MIGRATIONS, freshness, history, migrate, runs};
pub use run::{Outcome, RunReport, recover, run_job};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file cannot be read or is wrong; the message names the line.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    /// The configuration's text is wrong; the message names the line.
    #[error("{0}")]
    Invalid(String),
    /// The scheduler could not start.
    #[error("scheduling the jobs: {0}")]
    Schedule(String),
    /// A run failed; the message says where (stored in the run's history).
    #[error("{0}")]
    Run(String),
}

pub type Result<T> = std::result::Result<T, Error>;
