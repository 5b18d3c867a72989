//! The older workbook formats, measured before they are read. calamine reads an `.xls` or
//! `.ods` workbook whole when it opens it: every sheet as the rectangle its corners span
//! (an `.xls` sheet with cells at A1 and IV65536 is 16.7 million cells, about 0.9 GB with
//! their formulas, and a workbook may have hundreds of such sheets; an `.ods` row repeated a
//! million times is a million rows). These functions walk the file's records without keeping
//! them, add up the rectangles calamine would build, and refuse the file past
//! [`MAX_LEGACY_CELLS`] before calamine sees it.

use std::io::{BufReader, Cursor, Read};

use super::Input;
use crate::error::{Error, Result};

/// Cells, over all sheets together, that an `.xls` or `.ods` workbook may span: each costs
/// calamine about 56 bytes (the value and its formula), so about 0.7 GB at most.
pub const MAX_LEGACY_CELLS: u64 = 12_000_000;

const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Refuses an `.xls` or `.ods` workbook whose sheets span more than `limit` cells; any
/// other file passes untouched.
pub(super) fn check(input: &Input, limit: u64) -> Result<()> {
    let spanned = if input.bytes.starts_with(CFB_MAGIC) {
        xls_cells(input)?
    } else if is_ods(&input.bytes) {
        ods_cells(input)?
    } else {
        return Ok(());
    };
    if spanned > limit {
        return Err(Error::Refused(format!(
            "{}: the workbook's sheets span {spanned} cells (from their first to their last \
             cell), more than the {limit} an .xls or .ods workbook may span; save it as .xlsx \
             or CSV",
            input.name
        )));
    }
    Ok(())
}

fn is_ods(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        && zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|z| {
            z.index_for_name("content.xml").is_some() && z.index_for_name("mimetype").is_some()
        })
}

fn unreadable(input: &Input, e: impl std::fmt::Display) -> Error {
    Error::Format(format!("{}: not a readable workbook: {e}", input.name))
}

/// The cells an `.xls` workbook's sheets span: per sheet, the rectangle from its first to
/// its last cell record (or its DIMENSIONS record, when that claims more), added up.
fn xls_cells(input: &Input) -> Result<u64> {
    let mut file = cfb::CompoundFile::open(Cursor::new(input.bytes.as_slice()))
        .map_err(|e| unreadable(input, e))?;
    let stream = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|s| file.is_stream(s))
        .ok_or_else(|| unreadable(input, "no Workbook stream"))?;
    let mut records = BufReader::new(file.open_stream(stream).map_err(|e| unreadable(input, e))?);
    let mut total = 0u64;
    let mut sheet = Span::default();
    let mut depth = 0u32;
    let mut head = [0u8; 4];
    let mut data = vec![0u8; u16::MAX as usize];
    loop {
        match records.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(unreadable(input, e)),
        }
        let typ = u16::from_le_bytes([head[0], head[1]]);
        let len = u16::from_le_bytes([head[2], head[3]]) as usize;
        let data = &mut data[..len];
        if records.read_exact(data).is_err() {
            break; // a truncated last record: calamine says what is wrong with it
        }
        let u16_at = |i: usize| {
            data.get(i..i + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        };
        match typ {
            // BOF, in any BIFF version: a substream begins (a sheet, or a chart inside one).
            0x0809 | 0x0409 | 0x0209 | 0x0009 => depth += 1,
            // EOF: a top-level substream ends with its rectangle.
            0x000A => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    total = total.saturating_add(std::mem::take(&mut sheet).cells());
                }
            }
            // DIMENSIONS (BIFF8: rows as u32, columns as u16; the last ones exclusive).
            0x0200 if depth == 1 && len >= 14 => {
                let row =
                    |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                let (r0, r1) = (row(0), row(4));
                let (c0, c1) = (u16_at(8).unwrap_or(0), u16_at(10).unwrap_or(0));
                sheet.claimed = (r1.saturating_sub(r0) as u64) * (c1.saturating_sub(c0) as u64);
            }
            // Cell records that calamine keeps: NUMBER, LABEL, RSTRING, BOOLERR, RK,
            // LABELSST, FORMULA (row and column first), and MULRK (a run of columns).
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 if depth == 1 => {
                if let (Some(r), Some(c)) = (u16_at(0), u16_at(2)) {
                    sheet.add(r, c);
                }
            }
            0x00BD if depth == 1 && len >= 6 => {
                if let (Some(r), Some(c0), Some(c1)) = (u16_at(0), u16_at(2), u16_at(len - 2)) {
                    sheet.add(r, c0);
                    sheet.add(r, c1);
                }
            }
            _ => {}
        }
    }
    Ok(total.saturating_add(sheet.cells()))
}

/// A sheet's first and last rows and columns, as its cells come.
#[derive(Default)]
struct Span {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
    claimed: u64,
}

impl Span {
    fn add(&mut self, r: u32, c: u32) {
        let widen = |b: Option<(u32, u32)>, v: u32| {
            Some(b.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        };
        self.rows = widen(self.rows, r);
        self.cols = widen(self.cols, c);
    }

    fn cells(&self) -> u64 {
        let extent = |b: Option<(u32, u32)>| b.map_or(0, |(lo, hi)| (hi - lo) as u64 + 1);
        (extent(self.rows) * extent(self.cols)).max(self.claimed)
    }
}

/// The cells an `.ods` workbook's tables span, with their repeated rows and columns spelled
/// out: per table, the rows down to the last that holds a value, times the columns out to
/// the last value of any row, added up. A cell with a value type, a formula or any content
/// counts as holding a value.
fn ods_cells(input: &Input) -> Result<u64> {
    use quick_xml::events::Event;
    let mut zip = zip::ZipArchive::new(Cursor::new(input.bytes.as_slice()))
        .map_err(|e| unreadable(input, e))?;
    let content = zip
        .by_name("content.xml")
        .map_err(|e| unreadable(input, e))?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(content));
    let repeats = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> u64 {
        e.try_get_attribute(name)
            .ok()
            .flatten()
            .and_then(|a| a.value.trim().parse().ok())
            .unwrap_or(1)
    };
    let holds = |e: &quick_xml::events::BytesStart<'_>| {
        ["office:value-type", "table:formula"]
            .iter()
            .any(|a| e.try_get_attribute(a).ok().flatten().is_some())
    };
    let mut buf = Vec::new();
    let mut total = 0u64;
    // The table being read: rows so far, rows down to the last with a value, widest row.
    let (mut rows, mut last_row, mut width) = (0u64, 0u64, 0u64);
    // The row being read: its repeats, columns so far, columns out to its last value.
    let (mut row_repeats, mut col, mut last_col) = (1u64, 0u64, 0u64);
    // Nesting inside a cell (a table inside a cell is part of that cell).
    let mut in_cell = 0u32;
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| unreadable(input, e))?;
        let opened = matches!(event, Event::Start(_));
        match event {
            Event::Eof => break,
            Event::Start(_) if in_cell > 0 => in_cell += 1,
            Event::End(_) if in_cell > 0 => {
                in_cell -= 1;
                if in_cell == 0 {
                    // The cell ended: it had content, so it holds a value.
                    last_col = col;
                }
            }
            Event::Start(e) | Event::Empty(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                let n = repeats(&e, "table:number-columns-repeated");
                col = col.saturating_add(n);
                if holds(&e) {
                    last_col = col;
                }
                if opened {
                    in_cell = 1;
                }
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                row_repeats = repeats(&e, "table:number-rows-repeated");
                (col, last_col) = (0, 0);
            }
            Event::Empty(e) if e.name().as_ref() == "table:table-row" => {
                rows = rows.saturating_add(repeats(&e, "table:number-rows-repeated"));
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                rows = rows.saturating_add(row_repeats);
                if last_col > 0 {
                    last_row = rows;
                    width = width.max(last_col);
                }
            }
            Event::Start(e) if e.name().as_ref() == "table:table" => {
                (rows, last_row, width) = (0, 0, 0);
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                total = total.saturating_add(last_row.saturating_mul(width));
            }
            _ => {}
        }
        buf.clear();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ods(rows: &str) -> Input {
        let mut bytes = Vec::new();
        {
            let mut z = zip::ZipWriter::new(Cursor::new(&mut bytes));
            let stored = zip::write::SimpleFileOptions::default();
            z.start_file("mimetype", stored).unwrap();
            z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
                .unwrap();
            z.start_file("content.xml", stored).unwrap();
            write!(
                z,
                "<?xml version=\"1.0\"?><office:document-content><office:body><office:spreadsheet>\
                 <table:table table:name=\"S\">{rows}</table:table>\
                 </office:spreadsheet></office:body></office:document-content>"
            )
            .unwrap();
            z.finish().unwrap();
        }
        Input {
            name: "t.ods".into(),
            path: None,
            bytes,
        }
    }

    #[test]
    fn an_ods_table_spans_its_repeated_rows_and_columns() {
        let cell = "<table:table-cell office:value-type=\"float\" office:value=\"1\"><text:p>1</text:p></table:table-cell>";
        let empty = "<table:table-cell/>";
        // Two rows of three values, trailing empty cells repeated to the sheet's edge.
        let plain = format!(
            "<table:table-row>{cell}{cell}{cell}<table:table-cell table:number-columns-repeated=\"16381\"/></table:table-row>\
             <table:table-row>{empty}{cell}{cell}</table:table-row>\
             <table:table-row table:number-rows-repeated=\"1048574\">{empty}</table:table-row>"
        );
        assert_eq!(ods_cells(&ods(&plain)).unwrap(), 6);
        // One value repeated over 5,000 rows and 16,384 columns: 82 million cells.
        let bomb = "<table:table-row table:number-rows-repeated=\"5000\"><table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"string\"><text:p>x</text:p></table:table-cell></table:table-row>";
        assert_eq!(ods_cells(&ods(bomb)).unwrap(), 5000 * 16384);
        let e = check(&ods(bomb), MAX_LEGACY_CELLS).unwrap_err().to_string();
        assert!(e.contains("span 81920000 cells"), "{e}");
    }
}
