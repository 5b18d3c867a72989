//! CSV as officers keep it: `,` `;` or tab, UTF-8 with or without BOM, UTF-16 from Excel,
//! Windows-1252/Latin-1, decimal commas, quoted multi-line fields.

use std::collections::{HashSet, VecDeque};
use std::io::Cursor;

use csv::StringRecord;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::Serialize;

use super::{Details, Input, Loc, ReadOptions, RowSource, Table, layout};
use crate::error::{Error, Result};

/// The decimal mark of numbers in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decimal {
    Point,
    Comma,
}

impl std::str::FromStr for Decimal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "point" | "." => Ok(Decimal::Point),
            "comma" | "," => Ok(Decimal::Comma),
            _ => Err(Error::Invalid(format!(
                "decimal mark '{s}': use point or comma"
            ))),
        }
    }
}

pub(super) fn open(input: &Input, opts: &ReadOptions) -> Result<Table> {
    let (text, encoding) = decode(&input.bytes, opts.encoding.as_deref())?;
    let delimiter = opts.delimiter.unwrap_or_else(|| detect_delimiter(&text));
    let mut reader = reader(text.into_bytes(), delimiter);
    let parse_error = |e: csv::Error| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        Error::Format(format!(
            "{}: line {line}: the CSV cannot be parsed: {e}",
            input.name
        ))
    };
    // The header: the row among the first that best names the dataset's columns.
    let known: HashSet<String> = opts.known_columns.iter().cloned().collect();
    let mut lines = Lines::default();
    let mut candidates: Vec<(u64, Vec<String>)> = Vec::new();
    let mut starts: Vec<csv::Position> = Vec::new();
    let mut rec = StringRecord::new();
    while candidates.len() < layout::HEADER_SEARCH
        && reader.read_record(&mut rec).map_err(parse_error)?
    {
        if layout::filled(&rec) == 0 {
            continue;
        }
        let pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
        let text = reader.get_ref().get_ref();
        candidates.push((
            lines.at(text, record_start(text, pos.byte() as usize)),
            rec.iter().map(String::from).collect(),
        ));
        starts.push(pos);
    }
    if candidates.is_empty() {
        return Err(Error::Refused(format!(
            "{}: the file is empty or has no header row",
            input.name
        )));
    }
    let h = layout::find_header(&candidates, &known, opts.header_row, "line")?;
    let (header_line, header) = candidates.swap_remove(h);
    let mut skipped = Vec::new();
    if let Some(n) = layout::above_note(
        &candidates[..h].iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        "line",
    ) {
        skipped.push(n);
    }
    reader.seek(starts[h].clone()).map_err(parse_error)?;
    reader.read_record(&mut rec).map_err(parse_error)?;
    let data_start = reader.position().byte() as usize;
    let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let total = reader.get_ref().get_ref().len() as u64;
    let details = Details {
        encoding: Some(encoding.to_string()),
        delimiter: Some(match delimiter {
            b'\t' => "tab".to_string(),
            d => (d as char).to_string(),
        }),
        decimal: opts.decimal,
        header_row: Some(header_line),
        skipped,
        ..Details::default()
    };
    let width = headers.iter().filter(|h| !h.is_empty()).count();
    Ok(Table {
        details,
        declared_crs: None,
        rows: Box::new(CsvSource {
            reader,
            headers,
            delimiter,
            total,
            width,
            data_start,
            lines: Lines::default(),
            pending: VecDeque::new(),
            blank: 0,
            notes: Vec::new(),
        }),
    })
}

fn reader(bytes: Vec<u8>, delimiter: u8) -> csv::Reader<Cursor<Vec<u8>>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(Cursor::new(bytes))
}

/// Physical line numbers of byte offsets, counted forward: `\n`, `\r\n` and a lone `\r` each
/// end a line, inside quoted fields too, so a record's number is the line an editor shows.
#[derive(Default)]
struct Lines {
    /// Bytes counted so far, and the line terminators among them.
    upto: usize,
    ends: u64,
}

/// Where a record really starts: after a CRLF the reader may place it on the `\n` it has not
/// consumed yet.
fn record_start(text: &[u8], mut offset: usize) -> usize {
    while matches!(text.get(offset), Some(b'\r' | b'\n')) {
        offset += 1;
    }
    offset
}

impl Lines {
    /// The line on which the byte at `offset` stands (offsets only grow, or counting restarts).
    fn at(&mut self, text: &[u8], offset: usize) -> u64 {
        if offset < self.upto {
            *self = Lines::default();
        }
        let end = offset.min(text.len());
        let bytes = &text[self.upto..end];
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'\n' => self.ends += 1,
                b'\r' if bytes.get(i + 1).or_else(|| text.get(end)) != Some(&b'\n') => {
                    self.ends += 1;
                }
                _ => {}
            }
        }
        self.upto = end;
        self.ends + 1
    }
}

/// Decodes to UTF-8: a BOM wins, then valid UTF-8, else Windows-1252 (a superset of Latin-1's
/// printable characters).
fn decode(bytes: &[u8], label: Option<&str>) -> Result<(String, &'static str)> {
    if let Some(label) = label {
        let enc = Encoding::for_label(label.as_bytes())
            .ok_or_else(|| Error::Invalid(format!("unknown encoding '{label}'")))?;
        let (text, _, had_errors) = enc.decode(bytes);
        if had_errors {
            return Err(Error::Format(format!(
                "the file is not valid {}",
                enc.name()
            )));
        }
        return Ok((text.into_owned(), enc.name()));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|e| {
            Error::Format(format!(
                "the file starts with a UTF-8 BOM but is not UTF-8: {e}"
            ))
        })?;
        return Ok((text.to_string(), "UTF-8 (BOM)"));
    }
    for (bom, enc) in [(&b"\xFF\xFE"[..], UTF_16LE), (&b"\xFE\xFF"[..], UTF_16BE)] {
        if bytes.starts_with(bom) {
            let (text, _, _) = enc.decode(bytes);
            return Ok((text.into_owned(), enc.name()));
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), UTF_8.name())),
        Err(_) => Ok((
            WINDOWS_1252.decode(bytes).0.into_owned(),
            WINDOWS_1252.name(),
        )),
    }
}

/// The delimiter that splits some line among the first into the most fields (quotes
/// respected): the header, even under a title line.
fn detect_delimiter(text: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(layout::HEADER_SEARCH)
    {
        let mut quoted = false;
        let mut here = [0usize; 4];
        for b in line.bytes() {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted && let Some(i) = counts.iter().position(|(d, _)| *d == b) {
                here[i] += 1;
            }
        }
        for (i, n) in here.into_iter().enumerate() {
            counts[i].1 = counts[i].1.max(n);
        }
    }
    counts
        .iter()
        .max_by_key(|(d, n)| (*n, *d == b','))
        .map(|(d, _)| *d)
        .unwrap_or(b',')
}

/// The longest record read (a line of a register is well under a kilobyte); a longer one is
/// a damaged or hostile file, refused with its line.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Rows read ahead at most to tell a trailing block (totals, notes) from data.
const LOOKAHEAD: usize = 1000;

struct CsvSource {
    reader: csv::Reader<Cursor<Vec<u8>>>,
    headers: Vec<String>,
    delimiter: u8,
    total: u64,
    /// Columns with a name: what a trailing row is measured against.
    width: usize,
    /// Where the first record after the header starts.
    data_start: usize,
    lines: Lines,
    /// Rows read ahead that turned out to be data.
    pending: VecDeque<(Loc, StringRecord)>,
    /// Empty rows skipped among the data.
    blank: u64,
    notes: Vec<String>,
}

impl CsvSource {
    /// The next record as the file has it, empty ones included.
    fn read_raw(&mut self, rec: &mut StringRecord) -> Result<Option<Loc>> {
        let more = self.reader.read_record(rec).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Error::Format(format!("line {line}: the CSV cannot be parsed: {e}"))
        })?;
        if !more {
            return Ok(None);
        }
        let start = record_start(
            self.reader.get_ref().get_ref(),
            rec.position()
                .expect("records read from a reader have positions")
                .byte() as usize,
        );
        let end = self.reader.position().byte() as usize;
        let line = self.lines.at(self.reader.get_ref().get_ref(), start);
        if end.saturating_sub(start) > MAX_RECORD_BYTES {
            return Err(Error::Refused(format!(
                "line {line}: a record of {} MiB, longer than the {} MiB Haven reads; \
                 is a quote left open, or is this not a table?",
                (end - start) >> 20,
                MAX_RECORD_BYTES >> 20
            )));
        }
        Ok(Some(Loc {
            line,
            span: Some((start, end)),
        }))
    }
}

impl RowSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<Loc>> {
        if let Some((loc, r)) = self.pending.pop_front() {
            *rec = r;
            return Ok(Some(loc));
        }
        let Some(loc) = self.read_raw(rec)? else {
            return Ok(None);
        };
        if layout::filled(rec) > 0 && !layout::is_totals(rec) {
            return Ok(Some(loc));
        }
        // An empty or a totals row: data follows, or only a trailing block (totals, notes).
        let mut block = vec![(loc, rec.clone())];
        let mut next = StringRecord::new();
        loop {
            match self.read_raw(&mut next)? {
                None => {
                    let content: Vec<&(Loc, StringRecord)> = block
                        .iter()
                        .filter(|(_, r)| layout::filled(r) > 0)
                        .collect();
                    if let (Some(first), Some(last)) = (content.first(), content.last()) {
                        let totals = content.iter().any(|(_, r)| layout::is_totals(r));
                        self.notes.push(layout::below_note(
                            first.0.line,
                            last.0.line,
                            totals,
                            "line",
                        ));
                    }
                    return Ok(None);
                }
                Some(l) => {
                    block.push((l, next.clone()));
                    if !layout::trails(&next, self.width) || block.len() > LOOKAHEAD {
                        for (l, r) in block {
                            if layout::filled(&r) > 0 {
                                self.pending.push_back((l, r));
                            } else {
                                self.blank += 1;
                            }
                        }
                        return self.next_record(rec);
                    }
                }
            }
        }
    }

    fn raw(&self, loc: &Loc, rec: &StringRecord) -> String {
        let text = self.reader.get_ref().get_ref();
        match loc.span {
            Some((s, e)) if e <= text.len() && s <= e => String::from_utf8_lossy(&text[s..e])
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            _ => rec
                .iter()
                .collect::<Vec<_>>()
                .join(&(self.delimiter as char).to_string()),
        }
    }

    fn sample(&self, n: usize) -> Vec<StringRecord> {
        let text = self.reader.get_ref().get_ref();
        let mut r = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(&text[self.data_start.min(text.len())..]);
        r.records()
            .filter_map(|r| r.ok())
            .filter(|r| layout::filled(r) > 0)
            .take(n)
            .collect()
    }

    fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.total)
    }

    fn unit(&self) -> &'static str {
        "line"
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        if self.blank > 0 {
            notes.insert(
                0,
                format!("{} empty lines among the data skipped", self.blank),
            );
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_delimiters_outside_quotes() {
        assert_eq!(detect_delimiter("a;b;\"c,d\"\n1;2;3"), b';');
        assert_eq!(detect_delimiter("a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter("a,b"), b',');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn decodes_windows_1252_and_boms() {
        let (t, e) = decode(b"caf\xe9;\x80", None).unwrap();
        assert_eq!((t.as_str(), e), ("café;€", "windows-1252"));
        let (t, e) = decode(b"\xEF\xBB\xBFna\xC3\xafve", None).unwrap();
        assert_eq!((t.as_str(), e), ("naïve", "UTF-8 (BOM)"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("é,x".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&utf16, None).unwrap().0, "é,x");
    }

    #[test]
    fn multi_line_fields_keep_their_first_line_number() {
        let input = Input {
            name: "t.csv".into(),
            path: None,
            bytes: b"a,b\n1,\"two\nlines\"\n3,4\n".to_vec(),
        };
        let mut t = open(&input, &ReadOptions::default()).unwrap();
        let mut rec = StringRecord::new();
        let l1 = t.rows.next_record(&mut rec).unwrap().unwrap();
        assert_eq!((l1.line, &rec[1]), (2, "two\nlines"));
        assert_eq!(t.rows.raw(&l1, &rec), "1,\"two\nlines\"");
        let l2 = t.rows.next_record(&mut rec).unwrap().unwrap();
        assert_eq!(l2.line, 4);
        assert!(t.rows.next_record(&mut rec).unwrap().is_none());
    }
}
