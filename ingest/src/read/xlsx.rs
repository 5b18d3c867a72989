//! Excel workbooks: the first sheet, or the one named with `--sheet`.

use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};
use csv::StringRecord;

use super::{Details, Input, ReadOptions, Table, VecSource};
use crate::error::{Error, Result};
use crate::validate::civil_from_days;

pub(super) fn open(input: &Input, opts: &ReadOptions) -> Result<Table> {
    let mut book = open_workbook_auto_from_rs(Cursor::new(input.bytes.clone()))
        .map_err(|e| Error::Format(format!("{}: not a readable workbook: {e}", input.name)))?;
    let names = book.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) if names.contains(s) => s.clone(),
        Some(s) => {
            return Err(Error::Refused(format!(
                "{}: no sheet named '{s}'; the sheets are: {}",
                input.name,
                names.join(", ")
            )));
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::Refused(format!("{}: the workbook has no sheets", input.name)))?,
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| Error::Format(format!("{}: sheet '{sheet}': {e}", input.name)))?;
    let first_row = range.start().map(|(r, _)| r as u64 + 1).unwrap_or(1);
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(|c| cell_text(c).trim().to_string()).collect())
        .unwrap_or_default();
    let records = rows
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !matches!(c, Data::Empty)))
        .map(|(i, r)| {
            (
                first_row + 1 + i as u64,
                r.iter().map(cell_text).collect::<StringRecord>(),
            )
        })
        .collect();
    Ok(Table {
        details: Details {
            sheet: Some(sheet),
            ..Details::default()
        },
        declared_crs: None,
        rows: Box::new(VecSource::new(headers, records, "row")),
    })
}

/// A cell as the text validation expects: whole numbers without `.0`, dates as ISO dates.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            // Excel's day 0 is 1899-12-30 (counting its 1900 leap-year bug); Unix day 0 is 25569.
            let days = serial.floor() as i64 - 25569;
            let (y, m, d) = civil_from_days(days);
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::Error(e) => format!("#ERROR {e}"),
    }
}
