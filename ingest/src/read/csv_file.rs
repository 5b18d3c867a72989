//! CSV as officers keep it: `,` `;` or tab, UTF-8 with or without BOM, UTF-16 from Excel,
//! Windows-1252/Latin-1, decimal commas, quoted multi-line fields.

use std::io::Cursor;

use csv::StringRecord;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::Serialize;

use super::{Details, Input, Loc, ReadOptions, RowSource, Table};
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
    let headers = reader
        .headers()
        .map_err(|e| Error::Format(format!("{}: cannot read the header row: {e}", input.name)))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect::<Vec<_>>();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(Error::Refused(format!(
            "{}: the file is empty or has no header row",
            input.name
        )));
    }
    let total = reader.get_ref().get_ref().len() as u64;
    let details = Details {
        encoding: Some(encoding.to_string()),
        delimiter: Some(match delimiter {
            b'\t' => "tab".to_string(),
            d => (d as char).to_string(),
        }),
        decimal: opts.decimal,
        ..Details::default()
    };
    Ok(Table {
        details,
        declared_crs: None,
        rows: Box::new(CsvSource {
            reader,
            headers,
            delimiter,
            total,
        }),
    })
}

fn reader(bytes: Vec<u8>, delimiter: u8) -> csv::Reader<Cursor<Vec<u8>>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(Cursor::new(bytes))
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

/// The delimiter that splits the header line into the most fields (quotes respected).
fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for b in header.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(d, n)| (*n, *d == b','))
        .map(|(d, _)| *d)
        .unwrap_or(b',')
}

struct CsvSource {
    reader: csv::Reader<Cursor<Vec<u8>>>,
    headers: Vec<String>,
    delimiter: u8,
    total: u64,
}

impl RowSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn next_record(&mut self, rec: &mut StringRecord) -> Result<Option<Loc>> {
        loop {
            let more = self.reader.read_record(rec).map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                Error::Format(format!("line {line}: the CSV cannot be parsed: {e}"))
            })?;
            if !more {
                return Ok(None);
            }
            let pos = rec
                .position()
                .expect("records read from a reader have positions");
            // Blank lines carry no data; the csv reader already skips fully empty ones.
            if rec.len() == 1 && rec[0].trim().is_empty() {
                continue;
            }
            let start = pos.byte() as usize;
            let end = self.reader.position().byte() as usize;
            return Ok(Some(Loc {
                line: pos.line(),
                span: Some((start, end)),
            }));
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
            .from_reader(text.as_slice());
        r.records().take(n).filter_map(|r| r.ok()).collect()
    }

    fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.total)
    }

    fn unit(&self) -> &'static str {
        "line"
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
