//! Scheduled imports: the jobs of `haven.toml`.

pub mod config;
pub mod run;

use std::path::PathBuf;

pub use config::{Config, Job};
pub use run::{Outcome, RunReport, history, recover, run_job};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file cannot be read or is wrong; the message names the line.
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
}

pub type Result<T> = std::result::Result<T, Error>;
