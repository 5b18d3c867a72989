//! Readers: every supported file format becomes a header and a stream of string records with
//! their location in the file, so that validation is the same whatever the format.

mod csv_file;
mod geojson_file;
pub(crate) mod layout;
mod legacy;
mod parquet_file;
mod xlsx;

use std::path::PathBuf;

use csv::StringRecord;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::geo::Crs;

pub use csv_file::Decimal;

/// The file formats Haven reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Geojson,
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "txt" => Ok(Format::Csv),
            "xlsx" | "xlsm" | "xls" | "ods" => Ok(Format::Xlsx),
            "geojson" | "json" => Ok(Format::Geojson),
            "parquet" => Ok(Format::Parquet),
            other => Err(Error::Invalid(format!(
                "unknown format '{other}'; use csv, xlsx, geojson or parquet"
            ))),
        }
    }
}

/// How to read a file; everything left `None` is detected.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub format: Option<Format>,
    pub delimiter: Option<u8>,
    pub encoding: Option<String>,
    pub decimal: Option<Decimal>,
    pub sheet: Option<String>,
    /// The header's line (CSV) or row (Excel) number; found when absent.
    pub header_row: Option<u64>,
    /// The dataset's column names and aliases (normalised), to find the header by; set by the
    /// load from the schema.
    pub known_columns: Vec<String>,
}

/// A file's bytes and where they came from.
#[derive(Debug)]
pub struct Input {
    /// Shown to users and stored as the batch source.
    pub name: String,
    pub path: Option<PathBuf>,
    pub bytes: Vec<u8>,
}

impl Input {
    pub fn from_path(path: impl Into<PathBuf>) -> Result<Input> {
        let path = path.into();
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Input {
            name: path.display().to_string(),
            path: Some(path),
            bytes,
        })
    }
}

/// What the reader found out about the file, recorded with the batch.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Details {
    pub format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimal: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    /// The header's line (CSV) or row (Excel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// What was left out around the table, and why: title rows, a totals row, notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// Where a record is in its file: a line (CSV), a sheet row (XLSX), a feature or a row.
#[derive(Debug, Clone, Copy)]
pub struct Loc {
    pub line: u64,
    span: Option<(usize, usize)>,
}

/// A stream of records.
pub trait RowSource: Send {
    fn headers(&self) -> &[String];
    /// Reads the next record into `rec`; `None` at the end.
    fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<Loc>>;
    /// The record as it stands in the file, for the rejected-rows report.
    fn raw(&self, loc: &Loc, rec: &StringRecord) -> String;
    /// The first `n` records, for detection, without consuming the stream.
    fn sample(&self, n: usize) -> Vec<StringRecord>;
    /// Work done and total, in the source's own unit (bytes or records).
    fn progress(&self) -> (u64, u64);
    /// What `Loc::line` counts: "line", "row" or "feature".
    fn unit(&self) -> &'static str;
    /// What reading left out once the records are read (a trailing block, empty rows).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// An opened file: its details and its records.
pub struct Table {
    pub details: Details,
    /// CRS declared inside the file (GeoJSON `crs` member).
    pub declared_crs: Option<Crs>,
    pub rows: Box<dyn RowSource>,
}

/// Opens a file in its format (given, or detected from its name and first bytes).
pub fn open(input: &Input, opts: &ReadOptions) -> Result<Table> {
    let format = opts.format.unwrap_or_else(|| detect_format(input));
    let mut table = match format {
        Format::Csv => csv_file::open(input, opts)?,
        Format::Xlsx => xlsx::open(input, opts)?,
        Format::Geojson => geojson_file::open(input)?,
        Format::Parquet => parquet_file::open(input)?,
    };
    table.details.format = Some(format);
    Ok(table)
}

fn detect_format(input: &Input) -> Format {
    let ext = input
        .path
        .as_ref()
        .and_then(|p| p.extension())
        .or_else(|| std::path::Path::new(&input.name).extension())
        .and_then(|e| e.to_str())
        .and_then(|e| e.parse().ok());
    if let Some(f) = ext {
        return f;
    }
    let b = &input.bytes;
    if b.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else if b.starts_with(b"PAR1") {
        Format::Parquet
    } else if b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'{') {
        Format::Geojson
    } else {
        Format::Csv
    }
}

/// Records already in memory (XLSX, GeoJSON and Parquet are read whole).
pub(crate) struct VecSource {
    headers: Vec<String>,
    rows: Vec<(u64, StringRecord)>,
    next: usize,
    unit: &'static str,
}

impl VecSource {
    pub(crate) fn new(
        headers: Vec<String>,
        rows: Vec<(u64, StringRecord)>,
        unit: &'static str,
    ) -> Self {
        VecSource {
            headers,
            rows,
            next: 0,
            unit,
        }
    }
}

impl RowSource for VecSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<Loc>> {
        let Some((line, r)) = self.rows.get_mut(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        std::mem::swap(rec, r);
        Ok(Some(Loc {
            line: *line,
            span: None,
        }))
    }
    fn raw(&self, _loc: &Loc, rec: &StringRecord) -> String {
        self.headers
            .iter()
            .zip(rec.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| format!("{h}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn sample(&self, n: usize) -> Vec<StringRecord> {
        self.rows.iter().take(n).map(|(_, r)| r.clone()).collect()
    }
    fn progress(&self) -> (u64, u64) {
        (self.next as u64, self.rows.len() as u64)
    }
    fn unit(&self) -> &'static str {
        self.unit
    }
}
