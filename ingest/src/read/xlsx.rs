//! Excel workbooks as officers export them: the sheet named with `--sheet`, else the first sheet
//! whose rows name the dataset's columns; the header found under title and note rows; a totals
//! row and notes below the data left out (and said so). Row numbers are the sheet's own.
//!
//! Only the cells a sheet holds are read (`.xlsx` and `.xlsb` stream them), never the rectangle its
//! corners span: a 1.6 KB workbook with cells at A1 and XFD1048576 is two cells, not 1.7e10.
//! At most [`MAX_CELLS`] cells are read from a sheet; cells right of the header's last column
//! are counted and left out.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

use calamine::{Data, Reader, Sheets, open_workbook_auto_from_rs};
use csv::StringRecord;

use super::layout;
use super::{Details, Input, ReadOptions, Table, VecSource};
use crate::error::{Error, Result};
use crate::validate::civil_from_days;

/// Cells read at most from one sheet (Excel's largest sheet of 20 columns is about 21
/// million). About 1 GB of memory for the largest; a sheet with more is refused.
pub const MAX_CELLS: usize = 25_000_000;

/// A sheet as its cells: row number (1-based, as Excel shows it) to the row's cells by column.
type Cells = BTreeMap<u32, Vec<(u32, String)>>;

/// What a workbook may unpack to, at most, all its parts together (a sheet of 25 million
/// cells is about 1 GB of XML). A zip bomb is refused while it is measured, before any part
/// of it is held.
pub const MAX_UNPACKED: u64 = 2 << 30;

/// Unpacks every part of a zip-based workbook (`.xlsx`, `.ods`) into nothing, counting bytes,
/// and refuses the file past `limit`; declared sizes are not trusted.
fn check_unpacked(input: &Input, limit: u64) -> Result<()> {
    if !input.bytes.starts_with(b"PK\x03\x04") {
        return Ok(());
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(input.bytes.as_slice()))
        .map_err(|e| Error::Format(format!("{}: not a readable workbook: {e}", input.name)))?;
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| Error::Format(format!("{}: not a readable workbook: {e}", input.name)))?;
        let left = limit.saturating_sub(total);
        let n = std::io::copy(&mut (&mut part).take(left + 1), &mut std::io::sink())
            .map_err(|e| Error::Format(format!("{}: a damaged workbook part: {e}", input.name)))?;
        total += n;
        if total > limit {
            return Err(Error::Refused(format!(
                "{}: the workbook unpacks to more than {} MiB; split it, or save it as CSV",
                input.name,
                limit >> 20
            )));
        }
    }
    Ok(())
}

pub(super) fn open(input: &Input, opts: &ReadOptions) -> Result<Table> {
    check_unpacked(input, MAX_UNPACKED)?;
    super::legacy::check(input, super::legacy::MAX_LEGACY_CELLS)?;
    let mut book = open_workbook_auto_from_rs(Cursor::new(input.bytes.clone()))
        .map_err(|e| Error::Format(format!("{}: not a readable workbook: {e}", input.name)))?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(Error::Refused(format!(
            "{}: the workbook has no sheets",
            input.name
        )));
    }
    let known: HashSet<String> = opts.known_columns.iter().cloned().collect();
    let (sheet, cells) = match &opts.sheet {
        Some(s) if names.contains(s) => (s.clone(), read_sheet(&mut book, s, &input.name)?),
        Some(s) => {
            return Err(Error::Refused(format!(
                "{}: no sheet named '{s}'; the sheets are: {}",
                input.name,
                names.join(", ")
            )));
        }
        None => choose_sheet(&mut book, &names, &known, &input.name)?,
    };
    let mut notes = Vec::new();
    if opts.sheet.is_none() && names.len() > 1 && sheet != names[0] {
        notes.push(format!(
            "sheet '{sheet}' read: the first sheet, '{}', does not have the dataset's columns",
            names[0]
        ));
    }
    let (headers, records, header_row) = table_of(&cells, &known, opts.header_row, &mut notes)?;
    Ok(Table {
        details: Details {
            sheet: Some(sheet),
            header_row: Some(header_row),
            skipped: notes,
            ..Details::default()
        },
        declared_crs: None,
        rows: Box::new(VecSource::new(headers, records, "row")),
    })
}

/// The first sheet whose header names at least one of the dataset's columns; the first sheet
/// when none does.
fn choose_sheet(
    book: &mut Sheets<Cursor<Vec<u8>>>,
    names: &[String],
    known: &HashSet<String>,
    file: &str,
) -> Result<(String, Cells)> {
    let first = read_sheet(book, &names[0], file)?;
    if known.is_empty() || names.len() == 1 || names_columns(&first, known) {
        return Ok((names[0].clone(), first));
    }
    for name in &names[1..] {
        let cells = read_sheet(book, name, file)?;
        if names_columns(&cells, known) {
            return Ok((name.clone(), cells));
        }
    }
    Ok((names[0].clone(), first))
}

fn names_columns(cells: &Cells, known: &HashSet<String>) -> bool {
    cells.values().take(layout::HEADER_SEARCH).any(|row| {
        row.iter()
            .any(|(_, c)| known.contains(&layout::normalise(c)))
    })
}

/// The cells of a sheet, by row; at most [`MAX_CELLS`].
fn read_sheet(book: &mut Sheets<Cursor<Vec<u8>>>, sheet: &str, file: &str) -> Result<Cells> {
    let bad = |e: &dyn std::fmt::Display| Error::Format(format!("{file}: sheet '{sheet}': {e}"));
    let too_many = || {
        Error::Refused(format!(
            "{file}: sheet '{sheet}' has more than {MAX_CELLS} cells; split it, or save it as CSV"
        ))
    };
    let mut cells = Cells::new();
    let mut n = 0usize;
    let mut put = |row: u32, col: u32, text: String| -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        n += 1;
        if n > MAX_CELLS {
            return Err(too_many());
        }
        cells.entry(row + 1).or_default().push((col, text));
        Ok(())
    };
    match book {
        // Streamed: only the cells the sheet's XML holds.
        Sheets::Xlsx(x) => {
            let mut reader = x.worksheet_cells_reader(sheet).map_err(|e| bad(&e))?;
            while let Some(cell) = reader.next_cell().map_err(|e| bad(&e))? {
                let (row, col) = cell.get_position();
                put(row, col, cell_text(&Data::from(cell.get_value().clone())))?;
            }
            drop(reader);
            let merged = x.merge_cells_by_sheet_name(sheet).map_err(|e| bad(&e))?;
            spread_merged_headers(&mut cells, &merged);
        }
        Sheets::Xlsb(x) => {
            let mut reader = x.worksheet_cells_reader(sheet).map_err(|e| bad(&e))?;
            while let Some(cell) = reader.next_cell().map_err(|e| bad(&e))? {
                let (row, col) = cell.get_position();
                put(row, col, cell_text(&Data::from(cell.get_value().clone())))?;
            }
        }
        // `.xls` and `.ods` come as a range, read whole when the workbook was opened (after
        // `legacy::check` measured it).
        other => {
            let range = other.worksheet_range(sheet).map_err(|e| bad(&e))?;
            let (h, w) = range.get_size();
            if h.saturating_mul(w) > MAX_CELLS {
                return Err(too_many());
            }
            let (r0, c0) = range.start().unwrap_or((0, 0));
            for (r, c, v) in range.used_cells() {
                put(r0 + r as u32, c0 + c as u32, cell_text(v))?;
            }
        }
    }
    for row in cells.values_mut() {
        row.sort_by_key(|(c, _)| *c);
    }
    Ok(cells)
}

/// Header rows, at most, into which merged cells are spread.
const MERGED_ROWS: u32 = layout::HEADER_SEARCH as u32 * 2;
/// Columns, at most, a merged header cell is spread over.
const MERGED_COLUMNS: u32 = 1024;

/// A merged header cell shows its text over every cell it spans (a label over two header rows,
/// or over two columns): each spanned cell of the first rows gets that text. Only the rows
/// where a header can be, and never more than [`MERGED_COLUMNS`] columns, so a merge over the
/// whole sheet costs nothing.
fn spread_merged_headers(cells: &mut Cells, merged: &[calamine::Dimensions]) {
    let Some(&top) = cells.keys().next() else {
        return;
    };
    let last = top + MERGED_ROWS;
    for m in merged {
        let (r0, c0) = (m.start.0 + 1, m.start.1);
        if r0 > last {
            continue;
        }
        let Some(text) = cells
            .get(&r0)
            .and_then(|row| row.iter().find(|(c, _)| *c == c0))
            .map(|(_, t)| t.clone())
        else {
            continue;
        };
        for r in r0..=(m.end.0 + 1).min(last) {
            let row = cells.entry(r).or_default();
            for c in c0..=m.end.1.min(c0 + MERGED_COLUMNS) {
                if !row.iter().any(|(k, _)| *k == c) {
                    row.push((c, text.clone()));
                }
            }
            row.sort_by_key(|(c, _)| *c);
        }
    }
}

/// A sheet's table: its header, the data records with their row numbers, the header's row.
type SheetTable = (Vec<String>, Vec<(u64, StringRecord)>, u64);

/// The table of a sheet; what was left out goes to `notes`.
fn table_of(
    cells: &Cells,
    known: &HashSet<String>,
    forced: Option<u64>,
    notes: &mut Vec<String>,
) -> Result<SheetTable> {
    // The first rows with content, dense up to their last cell, for the header search.
    let candidates: Vec<(u64, Vec<String>)> = cells
        .iter()
        .take(layout::HEADER_SEARCH)
        .map(|(r, row)| (u64::from(*r), dense(row, None)))
        .collect();
    if candidates.is_empty() {
        return Ok((Vec::new(), Vec::new(), 1));
    }
    let h = layout::find_header(&candidates, known, forced, "row")?;
    let (header_row, header) = &candidates[h];
    let skipped: Vec<u64> = candidates[..h].iter().map(|(r, _)| *r).collect();
    if let Some(n) = layout::above_note(&skipped, "row") {
        notes.push(n);
    }
    // The table is as wide as its header; cells right of it are counted, not read.
    let width = header
        .iter()
        .rposition(|c| !c.trim().is_empty())
        .map_or(0, |i| i + 1);
    let headers: Vec<String> = header[..width]
        .iter()
        .map(|c| c.trim().to_string())
        .collect();
    let mut outside = 0usize;
    let mut rows: Vec<(u64, StringRecord)> = Vec::new();
    for (r, row) in cells.range((*header_row as u32 + 1)..) {
        outside += row.iter().filter(|(c, _)| *c as usize >= width).count();
        let rec: StringRecord = dense(row, Some(width)).into_iter().collect();
        if layout::filled(&rec) > 0 {
            rows.push((u64::from(*r), rec));
        }
    }
    if outside > 0 {
        notes.push(format!(
            "{outside} cell{} right of the table's last column ({}) left out",
            if outside == 1 { "" } else { "s" },
            column_name(width.saturating_sub(1))
        ));
    }
    let records: Vec<StringRecord> = rows.iter().map(|(_, r)| r.clone()).collect();
    if let Some(at) = layout::trailing_start(&records, width) {
        let totals = records[at..].iter().any(layout::is_totals);
        notes.push(layout::below_note(
            rows[at].0,
            rows[rows.len() - 1].0,
            totals,
            "row",
        ));
        rows.truncate(at);
    }
    Ok((headers, rows, *header_row))
}

/// A row's cells as a dense list, up to `width` columns (else up to its last cell).
fn dense(row: &[(u32, String)], width: Option<usize>) -> Vec<String> {
    let last = row.last().map_or(0, |(c, _)| *c as usize + 1);
    let width = width.unwrap_or(last.min(1024));
    let mut out = vec![String::new(); width];
    for (c, text) in row {
        if let Some(slot) = out.get_mut(*c as usize) {
            slot.clone_from(text);
        }
    }
    out
}

/// Excel's name of a 0-based column: A, B, …, Z, AA, ….
fn column_name(mut c: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A part that unpacks far beyond its packed size is refused while it is measured.
    #[test]
    fn a_workbook_that_unpacks_beyond_the_bound_is_refused() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut z = zip::ZipWriter::new(Cursor::new(&mut bytes));
            let deflate = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            z.start_file("xl/sharedStrings.xml", deflate).unwrap();
            let zeros = vec![b'0'; 1 << 20];
            for _ in 0..8 {
                z.write_all(&zeros).unwrap();
            }
            z.finish().unwrap();
        }
        assert!(bytes.len() < 100_000, "{} bytes packed", bytes.len());
        let input = Input {
            name: "bomb.xlsx".into(),
            path: None,
            bytes,
        };
        let e = check_unpacked(&input, 4 << 20).unwrap_err().to_string();
        assert!(e.contains("unpacks to more than 4 MiB"), "{e}");
        check_unpacked(&input, 16 << 20).unwrap();
    }

    #[test]
    fn columns_are_named_as_excel_names_them() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16383), "XFD");
    }
}
