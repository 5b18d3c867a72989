//! The one error type of the ingest crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, validating or loading a file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reason is part of the message (not a `source`), so it is printed once.
    #[error("cannot read {path}: {reason}")]
    Io {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("unknown dataset '{name}'; the datasets are: {known}")]
    UnknownDataset { name: String, known: String },
    /// The file as a whole cannot be loaded (wrong columns, wrong dataset, no data).
    #[error("{0}")]
    Refused(String),
    /// The file cannot be parsed in the format it claims to be in.
    #[error("{0}")]
    Format(String),
    #[error("schema {file}: {message}")]
    Schema { file: String, message: String },
    #[error(
        "the database {path} is in use by another process ({detail}); stop it, or run `haven serve` so that loads are handed to it"
    )]
    Locked { path: PathBuf, detail: String },
    #[error("database: {0}")]
    Db(#[from] duckdb::Error),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            reason: source,
        }
    }
}
