//! Parquet files, read with DuckDB's own reader and handed on as text like any other format.

use csv::StringRecord;
use duckdb::Connection;

use super::{Details, Input, Table, VecSource};
use crate::error::{Error, Result};

pub(super) fn open(input: &Input) -> Result<Table> {
    // DuckDB reads Parquet from a path; uploads are written to a private temporary file.
    let temp;
    let path = match &input.path {
        Some(p) => p.clone(),
        None => {
            temp = tempfile_with(&input.bytes)?;
            temp.path().to_path_buf()
        }
    };
    let conn = Connection::open_in_memory()?;
    let literal = path.display().to_string().replace('\'', "''");
    let sql = format!("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet('{literal}')");
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| Error::Format(format!("{}: not a readable Parquet file: {e}", input.name)))?;
    let mut rows = Vec::new();
    let mut query = stmt.query([])?;
    let mut width = 0;
    while let Some(row) = query.next()? {
        width = row.as_ref().column_count();
        let rec: StringRecord = (0..width)
            .map(|i| {
                row.get::<_, Option<String>>(i)
                    .map(|v| v.unwrap_or_default())
            })
            .collect::<Result<_, _>>()?;
        rows.push((rows.len() as u64 + 1, rec));
    }
    drop(query);
    let headers = stmt.column_names();
    debug_assert!(rows.is_empty() || headers.len() == width);
    Ok(Table {
        details: Details::default(),
        declared_crs: None,
        rows: Box::new(VecSource::new(headers, rows, "row")),
    })
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile_with(bytes: &[u8]) -> Result<TempFile> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "haven-upload-{}-{}.parquet",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    Ok(TempFile(path))
}
