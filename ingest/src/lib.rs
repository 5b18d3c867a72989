//! Haven ingest: reads the files housing officers have (CSV, XLSX, GeoJSON, Parquet),
//! validates every row against the dataset schemas in `schemas/`, assigns districts by
//! point-in-polygon and loads the result into the DuckDB store, one atomic batch per file.

pub mod bench;
pub mod demo;
pub mod encryption;
pub mod erase;
pub mod error;
pub mod geo;
mod load;
pub mod migrate;
pub mod read;
pub mod rng;
pub mod schema;
pub mod store;
pub mod suggest;
pub mod validate;

use std::path::{Path, PathBuf};

pub use encryption::Encryption;
pub use error::{Error, Result};
pub use load::{
    IngestOptions, NoProgress, Outcome, Progress, ReasonCount, Rejected, Report, ingest,
};
pub use read::Input;
pub use store::Store;

/// Files of a directory that Haven can read, in name order (so later exports load last).
pub fn files_in(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.parse::<read::Format>().is_ok())
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no CSV, XLSX, GeoJSON or Parquet files",
            path.display()
        )));
    }
    Ok(files)
}

/// Loads a file, or every readable file of a directory, each as its own batch.
pub fn ingest_path(
    store: &Store,
    dataset: &str,
    path: &Path,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Vec<Report>> {
    schema::get(dataset)?;
    files_in(path)?
        .into_iter()
        .map(|f| ingest(store, dataset, &Input::from_path(f)?, opts, progress))
        .collect()
}
