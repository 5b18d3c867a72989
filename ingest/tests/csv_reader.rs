//! The CSV reader against any table: written with random quoting, delimiters and newlines
//! inside fields, CRLF or LF, with or without a BOM, in UTF-8 or Windows-1252, every table
//! reads back to the same records, each starting on the line where it was written.

use csv::StringRecord;
use ingest::read::{self, Input, ReadOptions};
use proptest::prelude::*;

/// Cells from characters that make CSV hard: delimiters, quotes, line ends, spaces, accents.
fn cell() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("x"),
            Just("7"),
            Just("é"),
            Just(" "),
            Just(","),
            Just(";"),
            Just("\t"),
            Just("\""),
            Just("\n"),
            Just("\r\n"),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

#[derive(Debug, Clone)]
struct Case {
    rows: Vec<Vec<String>>,
    delimiter: u8,
    crlf: bool,
    bom: bool,
    windows_1252: bool,
    quote_always: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..6, 1usize..12).prop_flat_map(|(width, height)| {
        (
            proptest::collection::vec(proptest::collection::vec(cell(), width), height),
            prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(rows, delimiter, crlf, bom, windows_1252, quote_always)| Case {
                    rows,
                    delimiter,
                    crlf,
                    bom: bom && !windows_1252,
                    windows_1252,
                    quote_always,
                },
            )
    })
}

/// The file's bytes and the line each data record starts on.
fn write(case: &Case) -> (Vec<u8>, Vec<u64>) {
    let eol = if case.crlf { "\r\n" } else { "\n" };
    let d = case.delimiter as char;
    let field = |c: &str| {
        if case.quote_always || c.contains([d, '"', '\n', '\r']) || c.trim() != c {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let width = case.rows[0].len();
    let header: Vec<String> = (0..width).map(|i| format!("column_{i}")).collect();
    let mut text = header.join(&d.to_string()) + eol;
    let mut line = 2u64;
    let mut starts = Vec::new();
    for row in &case.rows {
        let record = row
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join(&d.to_string());
        starts.push(line);
        line += 1 + record.matches('\n').count() as u64;
        text.push_str(&record);
        text.push_str(eol);
    }
    let mut bytes = if case.windows_1252 {
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    };
    if case.bom {
        bytes.splice(0..0, *b"\xEF\xBB\xBF");
    }
    (bytes, starts)
}

proptest! {
    // Failures are reported, never written into the source tree.
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_table_reads_back_with_its_lines(case in case()) {
        // A row with nothing in it is a blank line to the reader, not data: give each row a
        // visible cell.
        let mut case = case;
        for row in &mut case.rows {
            if row.iter().all(|c| c.trim().is_empty()) {
                row[0] = "a".into();
            }
        }
        let (bytes, starts) = write(&case);
        let input = Input { name: "t.csv".into(), path: None, bytes };
        let opts = ReadOptions { delimiter: Some(case.delimiter), ..ReadOptions::default() };
        let mut table = read::open(&input, &opts).unwrap();
        let width = case.rows[0].len();
        let expected_header: Vec<String> = (0..width).map(|i| format!("column_{i}")).collect();
        prop_assert_eq!(table.rows.headers(), expected_header.as_slice());
        let mut rec = StringRecord::new();
        let mut got = Vec::new();
        while let Some(loc) = table.rows.next_record(&mut rec).unwrap() {
            got.push((loc.line, rec.iter().map(String::from).collect::<Vec<_>>()));
        }
        let want: Vec<(u64, Vec<String>)> = starts.into_iter().zip(case.rows.clone()).collect();
        prop_assert_eq!(got, want);
    }
}
